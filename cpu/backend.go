package cpu

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"

	"github.com/drsae/drsae/kernels"
	"golang.org/x/sys/cpu"
)

// Backend runs every op on the host. The zero value is not usable; call New.
type Backend struct {
	threads  int
	spin     bool // parallelFor hands ranges to the spinning helpers (DRSAE_CPU_SPIN)
	gemm     *gemmKernel
	vec      *vecKernels
	maxBytes int64
	budget   *kernels.Budget // the live tensors' bytes against DRSAE_MAX_MEMORY
}

var _ kernels.Backend = (*Backend)(nil)

// New returns a backend that splits large ops over runtime.GOMAXPROCS(0) goroutines.
func New() *Backend {
	lim := maxBytes()
	return &Backend{threads: max(1, runtime.GOMAXPROCS(0)), spin: spinEnabled(), gemm: bestGemmKernel(), vec: bestVecKernels(), maxBytes: lim, budget: kernels.NewBudget(lim / 4 * 3)}
}

// Info describes the backend and the host CPU.
func (be *Backend) Info() kernels.Info {
	return kernels.Info{
		Name:     "cpu",
		Device:   fmt.Sprintf("%s (%d threads)", cpuModel(), be.threads),
		Version:  runtime.Version(),
		Threads:  be.threads,
		MaxBytes: be.maxBytes,
		Extra: map[string]string{
			"arch":     runtime.GOARCH,
			"features": cpuFeatures(),
			"gemm":     be.gemm.name,
			"vec":      be.vec.name,
			"spin":     fmt.Sprint(be.spin),
		},
	}
}

// cpuModel returns the first "model name" of /proc/cpuinfo, or GOARCH where there is none.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// cpuFeatures lists the vector extensions that matter to the kernels.
func cpuFeatures() string {
	var fs []string
	add := func(ok bool, name string) {
		if ok {
			fs = append(fs, name)
		}
	}
	switch runtime.GOARCH {
	case "amd64", "386":
		add(cpu.X86.HasAVX, "avx")
		add(cpu.X86.HasAVX2, "avx2")
		add(cpu.X86.HasFMA, "fma")
		add(cpu.X86.HasAVX512F, "avx512f")
		add(cpu.X86.HasAVX512BW, "avx512bw")
		add(cpu.X86.HasAVX512DQ, "avx512dq")
		add(cpu.X86.HasAVX512VL, "avx512vl")
	case "arm64":
		add(cpu.ARM64.HasASIMD, "asimd")
		add(cpu.ARM64.HasFPHP, "fphp")
		add(cpu.ARM64.HasSVE, "sve")
	}
	if len(fs) == 0 {
		return "none"
	}
	return strings.Join(fs, " ")
}

// maxBytes is the largest tensor the host can hold: its memory (MemTotal in /proc/meminfo, or
// 1 TiB where that cannot be read), and no more than a Go slice may span (2 GiB on 32-bit).
func maxBytes() int64 {
	return min(kernels.HostMemory(), int64(math.MaxInt))
}
