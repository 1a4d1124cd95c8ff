package kernels

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

// MemoryEnv names the environment variable that caps the bytes of tensors one backend holds at
// once: a size in bytes, or with a K, M, G or T suffix (powers of 1024). Without it the cap is
// the backend's default (three quarters of the host's memory for both backends).
const MemoryEnv = "DRSAE_MAX_MEMORY"

// A Budget counts the bytes of a backend's live tensors against a cap, so that a size read from
// a file or a flag fails with an error before it exhausts the machine's memory.
type Budget struct {
	limit int64
	err   error // a bad MemoryEnv, reported by every Take
	used  atomic.Int64
}

// NewBudget returns a budget of MemoryEnv's value, or of def where it is not set.
func NewBudget(def int64) *Budget {
	n, err := MemoryLimit(def)
	return &Budget{limit: n, err: err}
}

// MemoryLimit is MemoryEnv's value, or def where it is not set; the error names a bad value.
func MemoryLimit(def int64) (int64, error) {
	s := os.Getenv(MemoryEnv)
	if s == "" {
		return def, nil
	}
	n, err := ParseBytes(s)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %v", MemoryEnv, s, err)
	}
	return n, nil
}

// HostLimit is the cap on what one process reads into host memory at once (a data file, a
// model's tensors): MemoryEnv's value, or three quarters of the host's memory, the backends'
// default.
func HostLimit() (int64, error) { return MemoryLimit(HostMemory() / 4 * 3) }

// CheckHostBytes returns nil if bytes of host memory for what (a file, say) are within
// HostLimit, or an error naming the limit and how to raise it.
func CheckHostBytes(what string, bytes int64) error {
	lim, err := HostLimit()
	if err != nil {
		return err
	}
	if bytes > lim {
		return fmt.Errorf("%s would need %s of memory, beyond the limit of %s; set %s (bytes, or with a K, M, G or T suffix) to raise it",
			what, FormatBytes(bytes), FormatBytes(lim), MemoryEnv)
	}
	return nil
}

// Limit is the cap in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// Used is the bytes of live tensors.
func (b *Budget) Used() int64 { return b.used.Load() }

// Take counts a new tensor of shape for op, or returns an error naming the cap and how to raise
// it when the tensor would pass it.
func (b *Budget) Take(op string, shape []int) (int64, error) {
	if b.err != nil {
		return 0, b.err
	}
	bytes := 4 * int64(Volume(op, shape))
	if used := b.used.Add(bytes); used > b.limit {
		b.used.Add(-bytes)
		return 0, fmt.Errorf("%s: tensor %v (%s) would bring the backend's tensors to %s, beyond its limit of %s; set %s (bytes, or with a K, M, G or T suffix) to raise it",
			op, shape, FormatBytes(bytes), FormatBytes(used), FormatBytes(b.limit), MemoryEnv)
	}
	return bytes, nil
}

// Give returns the bytes of a freed tensor.
func (b *Budget) Give(bytes int64) { b.used.Add(-bytes) }

// ParseBytes reads a size such as 1073741824, 512M or 16G.
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B")
	shift := 0
	if i := strings.IndexAny(t, "KMGT"); i >= 0 && i == len(t)-1 {
		shift = 10 * (1 + strings.IndexByte("KMGT", t[i]))
		t = t[:i]
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)>>shift {
		return 0, fmt.Errorf("not a size in bytes > 0 (such as 8G or 512M)")
	}
	return n << shift, nil
}

// FormatBytes writes a size in the largest unit that keeps it ≥ 1.
func FormatBytes(n int64) string {
	for i, u := range []string{"TiB", "GiB", "MiB", "KiB"} {
		if d := int64(1) << (10 * (4 - i)); n >= d {
			return strconv.FormatFloat(float64(n)/float64(d), 'f', 1, 64) + " " + u
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// HostMemory is the host's memory in bytes (MemTotal in /proc/meminfo), or 1 TiB where that
// cannot be read.
func HostMemory() int64 {
	const fallback = 1 << 40
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return fallback
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			if kb, err := strconv.ParseInt(fields[1], 10, 64); err == nil && kb > 0 {
				return kb << 10
			}
		}
	}
	return fallback
}
