package bench

import (
	"bytes"
	"errors"
	"image/png"
	"slices"
	"strings"
	"testing"

	"github.com/drsae/drsae/kernels"
)

// One Benchmark function per group; the ladders themselves are in the group's file, shared
// with drsae bench.

func BenchmarkGemm(b *testing.B)             { gemm.Bench(b) }
func BenchmarkShrink(b *testing.B)           { shrink.Bench(b) }
func BenchmarkPoolNorms(b *testing.B)        { poolNorms.Bench(b) }
func BenchmarkMemory(b *testing.B)           { memory.Bench(b) }
func BenchmarkConv2D(b *testing.B)           { conv2D.Bench(b) }
func BenchmarkRecurrence(b *testing.B)       { recurrence.Bench(b) }
func BenchmarkFISTA(b *testing.B)            { fista.Bench(b) }
func BenchmarkGroupSparse(b *testing.B)      { groupSparse.Bench(b) }
func BenchmarkLISTAForward(b *testing.B)     { listaForward.Bench(b) }
func BenchmarkLISTATrainStep(b *testing.B)   { listaTrainStep.Bench(b) }
func BenchmarkDrSAEStep(b *testing.B)        { drsaeStep.Bench(b) }
func BenchmarkTopoStep(b *testing.B)         { topoStep.Bench(b) }
func BenchmarkConvStep(b *testing.B)         { convStep.Bench(b) }
func BenchmarkLateralInference(b *testing.B) { lateralInference.Bench(b) }
func BenchmarkLocal(b *testing.B)            { localOps.Bench(b) }

// goTestNames are the names go test -bench printed for the cpu rows before the ladders were
// shared with drsae bench: they must not change, so that earlier results stay comparable.
const goTestNames = `
	BenchmarkConvStep/cpu/28x28/B256/K32
	BenchmarkConvStep/cpu/256x256/B8/K64
	BenchmarkDrSAEStep/B256-784-400-T11/cpu
	BenchmarkDrSAEStep/B50-784-400-T11/cpu
	BenchmarkDrSAEStep/B10-784-400-T11/cpu
	BenchmarkDrSAEStep/B50-784-200-T5/cpu
	BenchmarkDrSAEStep/B256-784-200-T5/cpu
	BenchmarkGemm/cpu/64
	BenchmarkGemm/cpu/256
	BenchmarkGemm/cpu/512
	BenchmarkGemm/cpu/1024
	BenchmarkGemm/cpu/Ex_256x400x784_NT
	BenchmarkGemm/cpu/Sz_256x400x400_NT
	BenchmarkGemm/cpu/dE_400x784x256_TN
	BenchmarkShrink/cpu/16x400
	BenchmarkShrink/cpu/256x400
	BenchmarkShrink/cpu/4096x400
	BenchmarkPoolNorms/cpu/forward/B16
	BenchmarkPoolNorms/cpu/backward/B16
	BenchmarkPoolNorms/cpu/forward/B256
	BenchmarkPoolNorms/cpu/backward/B256
	BenchmarkPoolNorms/cpu/forward/B1024
	BenchmarkPoolNorms/cpu/backward/B1024
	BenchmarkConv2D/cpu/forward/N16_C1_28x28_K16_9x9
	BenchmarkConv2D/cpu/backward-data/N16_C1_28x28_K16_9x9
	BenchmarkConv2D/cpu/backward-filter/N16_C1_28x28_K16_9x9
	BenchmarkConv2D/cpu/forward/N32_C1_64x64_K32_9x9
	BenchmarkConv2D/cpu/backward-data/N32_C1_64x64_K32_9x9
	BenchmarkConv2D/cpu/backward-filter/N32_C1_64x64_K32_9x9
	BenchmarkConv2D/cpu/forward/N16_C16_24x24_K64_5x5
	BenchmarkConv2D/cpu/backward-data/N16_C16_24x24_K64_5x5
	BenchmarkConv2D/cpu/backward-filter/N16_C16_24x24_K64_5x5
	BenchmarkRecurrence/cpu/forward/B256-m400-T11
	BenchmarkRecurrence/cpu/backward/B256-m400-T11
	BenchmarkRecurrence/cpu/forward/B50-m200-T5
	BenchmarkRecurrence/cpu/backward/B50-m200-T5
	BenchmarkLateralInference/cpu/B16
	BenchmarkLateralInference/cpu/B64
	BenchmarkLateralInference/cpu/B256
	BenchmarkLocal/cpu/48x48/F9/S3/site4/B32/forward
	BenchmarkLocal/cpu/48x48/F9/S3/site4/B32/backward-data
	BenchmarkLocal/cpu/48x48/F9/S3/site4/B32/backward-filter
	BenchmarkLocal/cpu/48x48/F9/S3/site4/B32/step
	BenchmarkLocal/cpu/48x48/F9/S3/site4/B32/step-surround
	BenchmarkLocal/cpu/48x48/F9/S3/site4/B32/step-prior
	BenchmarkLocal/cpu/64x64/F10/S1/site2/B16/forward
	BenchmarkLocal/cpu/64x64/F10/S1/site2/B16/backward-data
	BenchmarkLocal/cpu/64x64/F10/S1/site2/B16/backward-filter
	BenchmarkLocal/cpu/64x64/F10/S1/site2/B16/step
	BenchmarkMemory/cpu/Copy/256x400
	BenchmarkMemory/cpu/Fill/256x400
	BenchmarkMemory/cpu/Axpby/256x400
	BenchmarkMemory/cpu/Hadamard/256x400
	BenchmarkMemory/cpu/BroadcastAdd/256x400
	BenchmarkMemory/cpu/SoftShrink/256x400
	BenchmarkMemory/cpu/SoftShrinkBackward/256x400
	BenchmarkMemory/cpu/PoolNorms/256x400
	BenchmarkMemory/cpu/PoolNormsBackward/256x400
	BenchmarkMemory/cpu/BlockSoftThreshold/256x400
	BenchmarkMemory/cpu/Copy/4096x400
	BenchmarkMemory/cpu/Fill/4096x400
	BenchmarkMemory/cpu/Axpby/4096x400
	BenchmarkMemory/cpu/Hadamard/4096x400
	BenchmarkMemory/cpu/BroadcastAdd/4096x400
	BenchmarkMemory/cpu/SoftShrink/4096x400
	BenchmarkMemory/cpu/SoftShrinkBackward/4096x400
	BenchmarkMemory/cpu/PoolNorms/4096x400
	BenchmarkMemory/cpu/PoolNormsBackward/4096x400
	BenchmarkMemory/cpu/BlockSoftThreshold/4096x400
	BenchmarkFISTA/fista/B256-784-400/cpu
	BenchmarkFISTA/ista/B256-784-400/cpu
	BenchmarkLISTAForward/T1/B256-784-400/cpu
	BenchmarkLISTAForward/T3/B256-784-400/cpu
	BenchmarkLISTAForward/T10/B256-784-400/cpu
	BenchmarkLISTATrainStep/T3/B256-784-400/cpu
	BenchmarkTopoStep/cpu/autoencoder/B16
	BenchmarkTopoStep/cpu/autoencoder/B64
	BenchmarkTopoStep/cpu/autoencoder/B256
	BenchmarkTopoStep/cpu/predictive/B16
	BenchmarkTopoStep/cpu/predictive/B64
	BenchmarkTopoStep/cpu/predictive/B256
	BenchmarkGroupSparse/cpu/block-fista/B16
	BenchmarkGroupSparse/cpu/block-fista/B256
	BenchmarkGroupSparse/cpu/smoothed-mm/B16
	BenchmarkGroupSparse/cpu/smoothed-mm/B256
`

// TestNames: every group names its sub-benchmarks as before, and case names are unique.
func TestNames(t *testing.T) {
	var got []string
	for _, g := range groups {
		for _, c := range g.Cases {
			if g.BackendFirst {
				got = append(got, "Benchmark"+g.Name+"/cpu/"+c.Name)
			} else {
				got = append(got, "Benchmark"+g.Name+"/"+c.Name+"/cpu")
			}
			if c.Unit == "" || c.Run == nil {
				t.Errorf("%s/%s: no unit or no Run", g.Name, c.Name)
			}
		}
	}
	want := strings.Fields(goTestNames)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("go test names changed:\ngot  %q\nwant %q", got, want)
	}
	if n := len(slices.Compact(slices.Clone(got))); n != len(got) {
		t.Errorf("%d case names, %d distinct", len(got), n)
	}
	if len(Select(nil, true)) == 0 {
		t.Error("no --quick cases")
	}
}

// TestRun: Run measures a small case on cpu, and a case that stops or panics leaves its
// reason in the cell and lets the others run.
func TestRun(t *testing.T) {
	be, err := kernels.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	cases := Select(func(name string) bool { return name == "Shrink/16x400" }, false)
	cases = append(cases,
		Case{Name: "stops", Unit: "GB/s", Run: func(b *testing.B, be kernels.Backend) { stop(b, errors.New("no such size\nbuild log")) }},
		Case{Name: "panics", Unit: "GB/s", Run: func(b *testing.B, be kernels.Backend) { panic("kernels: Op: bad shape") }},
		Case{Name: "silent", Unit: "GB/s", Run: func(b *testing.B, be kernels.Backend) {}},
	)
	var seen []string
	rows, err := Run(Options{Backends: []kernels.Backend{be}, Cases: cases, Benchtime: "2x",
		Progress: func(i, n int, c Case) { seen = append(seen, c.Name) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || len(seen) != 4 {
		t.Fatalf("%d rows, %d progress calls; want 4", len(rows), len(seen))
	}
	if m := rows[0].Measures[0]; m.Err != "" || m.Value <= 0 || m.N != 2 {
		t.Errorf("Shrink/16x400: %+v; want a rate over 2 calls", m)
	}
	for i, want := range []string{"no such size …", "panic: kernels: Op: bad shape", "reported no GB/s"} {
		if m := rows[i+1].Measures[0]; m.Err != want {
			t.Errorf("%s: Err %q, want %q", rows[i+1].Case.Name, m.Err, want)
		}
	}
	img, err := Chart(rows, []string{"cpu"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(Options{Benchtime: "0x"}); err == nil {
		t.Error("Benchtime 0x: no error")
	}
}

func TestCheckBenchtime(t *testing.T) {
	for s, ok := range map[string]bool{"": true, "1s": true, "100ms": true, "20x": true, "0x": false, "x": false, "-1s": false, "0s": false, "fast": false} {
		if err := CheckBenchtime(s); (err == nil) != ok {
			t.Errorf("CheckBenchtime(%q) = %v", s, err)
		}
	}
}
