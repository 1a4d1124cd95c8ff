package cpu

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// parallelWork is the work (multiply-adds or element updates) that one extra goroutine must get
// to repay handing it a range and waiting for it: about 32k multiply-adds.
const parallelWork = 32 << 10

// parallelFor calls fn on contiguous ranges [lo, hi) that cover [0, n), each on its own
// goroutine, using at most be.threads goroutines and no more than work/parallelWork of them;
// small work runs as fn(0, n) on the caller's goroutine. fn must write only outputs owned by its
// range. The caller runs the first range; the others go to the helpers (see helpers) when
// be.spin and no other parallelFor holds them, else to new goroutines.
func (be *Backend) parallelFor(n, work int, fn func(lo, hi int)) {
	w := min(be.threads, n, work/parallelWork)
	if w < 2 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var hs []*helper
	if be.spin && helpersBusy.TryLock() {
		hs = helpers()
		hs = hs[:min(w-1, len(hs))]
		defer helpersBusy.Unlock()
	}
	var wg sync.WaitGroup
	for t := 1; t < w; t++ {
		lo, hi := t*n/w, (t+1)*n/w
		if t-1 < len(hs) {
			hs[t-1].post(fn, lo, hi)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	ok := false
	defer func() {
		// Also when fn panics, so that no helper still runs fn after the unlock.
		defer func() {
			for _, h := range hs {
				h.wait()
			}
			wg.Wait()
		}()
		if ok {
			for _, h := range hs {
				h.finish()
			}
		}
	}()
	fn(0, n/w)
	ok = true
}

// Helpers: GOMAXPROCS−1 goroutines that live as long as the process, started by the first
// parallelFor that asks for them. After each range a helper spins for spinFor, watching for
// the next, and only then parks on its channel: a training step runs hundreds of ops a few
// hundred microseconds long, and waking a parked thread costs tens of microseconds on a
// virtual machine (measured: a 1 ms product at 2 threads ran 15% faster with a spinning helper
// than with a new goroutine). This is what OpenMP runtimes and OpenBLAS do with their threads.
// The spin holds a core only while the caller's own goroutine is between ops; DRSAE_CPU_SPIN=0
// turns helpers off (new goroutines for every op, as before).
var (
	helpersOnce sync.Once
	helperList  []*helper
	helpersBusy sync.Mutex // held by the parallelFor that hands ranges to the helpers
)

const spinFor = 200 * time.Microsecond

func helpers() []*helper {
	helpersOnce.Do(func() {
		for range runtime.GOMAXPROCS(0) - 1 {
			h := &helper{wake: make(chan struct{}, 1)}
			helperList = append(helperList, h)
			go h.run()
		}
	})
	return helperList
}

// spinEnabled reports whether DRSAE_CPU_SPIN leaves the helpers on (anything but "0").
func spinEnabled() bool { return os.Getenv("DRSAE_CPU_SPIN") != "0" }

// A helper runs the ranges posted to it, one at a time. posted, claimed and done count ranges;
// fn, lo and hi are written by the poster before posted moves and read by the helper after it
// sees the move (sync/atomic orders them), and the poster writes them again only after done
// catches up. Only the holder of helpersBusy posts, so posted is its own count.
//
// Range seq is run by whoever claims it first (claimed: seq−1 → seq), the helper or the poster
// (finish), and that one sets done to seq. The poster takes a range back when it has finished
// its own and the helper has not begun: a helper still waking from its park, or one the OS has
// descheduled because another process wants the core, would cost the poster a wait at least
// as long as the range itself.
type helper struct {
	posted, claimed, done atomic.Uint64
	parked                atomic.Bool
	wake                  chan struct{}
	fn                    func(lo, hi int)
	lo, hi                int
}

// post hands fn(lo, hi) to h.
func (h *helper) post(fn func(lo, hi int), lo, hi int) {
	h.fn, h.lo, h.hi = fn, lo, hi
	h.posted.Add(1)
	if h.parked.CompareAndSwap(true, false) {
		h.wake <- struct{}{}
	}
}

// finish returns once the range last posted to h has run: here, when h has not begun it, else
// on h (wait).
func (h *helper) finish() {
	seq := h.posted.Load()
	if !h.claimed.CompareAndSwap(seq-1, seq) {
		h.wait()
		return
	}
	defer h.done.Store(seq) // also when fn panics, so that a wait returns
	h.fn(h.lo, h.hi)
	h.fn = nil
}

// wait returns once the range last posted to h has run, spinning, and yielding the processor
// to other goroutines (the helper among them, should it have been descheduled) after the first
// spins.
func (h *helper) wait() {
	seq := h.posted.Load()
	for i := 0; h.done.Load() != seq; i++ {
		if i >= 256 {
			runtime.Gosched()
		}
	}
}

func (h *helper) run() {
	var seen uint64
	for {
		seen = h.await(seen)
		if !h.claimed.CompareAndSwap(seen-1, seen) {
			continue // the poster took it back (finish): it is running or has run there
		}
		h.fn(h.lo, h.hi)
		h.fn = nil // let the closure and what it holds go
		h.done.Store(seen)
	}
}

// await spins for spinFor until posted moves past seen, then parks until post wakes it;
// it returns the new posted.
//
// A token can come late: a poster descheduled between moving posted and taking parked back finds
// the helper parked again after it has already spun, seen and run that range, and wakes it for
// nothing. Then posted has not moved, and the helper waits again.
func (h *helper) await(seen uint64) uint64 {
	for {
		var deadline time.Time
		for i := 1; ; i++ {
			if p := h.posted.Load(); p != seen {
				return p
			}
			if i%128 == 0 {
				if now := time.Now(); deadline.IsZero() {
					deadline = now.Add(spinFor)
				} else if now.After(deadline) {
					break
				}
			}
		}
		h.parked.Store(true)
		if p := h.posted.Load(); p != seen && h.parked.CompareAndSwap(true, false) {
			return p // posted while parking, and post saw the helper awake: no token comes
		}
		<-h.wake // post took parked back and sent (or is about to send) the token
		if p := h.posted.Load(); p != seen {
			return p
		}
	}
}

// memoryWork is the work, as parallelFor counts it, of a memory-bound op over elems elements:
// one unit each, so that a second goroutine joins past 64k elements (256 KiB a tensor). With
// new goroutines per op (DRSAE_CPU_SPIN=0) that was a loss below 512k elements on a 2-core Zen 2,
// and the rule was an eighth of a unit each; with the spinning helpers, on a 2-core Zen 4 (bench
// group Memory, the two rules interleaved), the [256,400] ops of a DrSAE step ran 1.5–2.3×
// faster on two goroutines (BroadcastAdd 85 → 155 GB/s, SoftShrink 73 → 122, SoftShrinkBackward
// 34 → 77) and the B = 256 784-400¹¹ step 3–10% faster.
func memoryWork(elems int) int { return elems }
