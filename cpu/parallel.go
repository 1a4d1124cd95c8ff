package cpu

import "sync"

// parallelWork is the work (multiply-adds or element updates) that one extra goroutine must get
// to repay starting and joining it, which costs a few microseconds: about 32k multiply-adds.
const parallelWork = 32 << 10

// parallelFor calls fn on contiguous ranges [lo, hi) that cover [0, n), each on its own
// goroutine, using at most be.threads goroutines and no more than work/parallelWork of them;
// small work runs as fn(0, n) on the caller's goroutine. fn must write only outputs owned by its
// range.
func (be *Backend) parallelFor(n, work int, fn func(lo, hi int)) {
	w := min(be.threads, n, work/parallelWork)
	if w < 2 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	wg.Add(w - 1)
	for t := 1; t < w; t++ {
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(t*n/w, (t+1)*n/w)
	}
	fn(0, n/w)
	wg.Wait()
}

// memoryWork is the work, as parallelFor counts it, of a memory-bound op over elems elements: an
// eighth of a multiply-add each, so that a second goroutine joins only past 512k elements (2 MiB
// a tensor), where the data no longer stays in one core's caches. Below that, measured on a
// 2-core Zen 2 (bench group Memory), a second goroutine made these ops slower, not faster: it
// moves no more bytes per second, pays its start, and the halves it takes need not be in the
// cache of the core it lands on.
func memoryWork(elems int) int { return elems / 8 }
