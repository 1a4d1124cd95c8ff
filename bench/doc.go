// Package bench holds the go test -bench ladders for every kernel and model step, on every
// backend that opens on this machine, so that
//
//	go test -run '^$' -bench . ./bench
//
// prints CPU and GPU rows side by side (…/cpu/… and …/gpu/…). Kernel benchmarks report GFLOP/s
// (or GB/s for memory-bound ops); model benchmarks report samples/s or iterations/s. GPU timings
// include a Sync inside the timed loop, so they measure finished work, not queued commands.
//
// A backend that cannot open (no GL context) is skipped with its reason; set DRSAE_REQUIRE_GPU=1
// to make that a failure.
package bench
