// Package bench holds the benchmark ladders for every kernel and model step, each case defined
// once and run two ways:
//
//	go test -run '^$' -bench . ./bench   # every backend that opens, …/cpu/… and …/gpu/… rows
//	drsae bench [--quick] [--run REGEXP]  # one table, a column per backend (Select, Run, Chart)
//
// A Group is one Benchmark function (BenchmarkGemm runs the group Gemm); its Cases are the sizes
// of the ladder, named as go test prints them less the backend ("Gemm/1024"). Kernel cases report
// GFLOP/s (or GB/s for memory-bound ops); model cases report samples/s or iterations/s. Each case
// sets up before b.ResetTimer, and GPU timings include a Sync inside the timed loop, so they
// measure finished work, not queued commands. Run goes through testing.Benchmark, outside go test,
// with the -benchtime it is given; a case that fails or panics there leaves its reason in its cell.
//
// Under go test a backend that cannot open (no GL context) is skipped with its reason; set
// DRSAE_REQUIRE_GPU=1 to make that a failure.
package bench
