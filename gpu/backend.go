package gpu

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/drsae/drsae/kernels"
)

// Backend runs the kernels.Backend ops as OpenGL 4.3 compute shaders. Every GL call happens on
// one goroutine locked to one OS thread (the GL thread), which owns the context. Ops check their
// operands on the caller's goroutine, append a command to a queue and return at once; the GL
// thread drains the queue in order. Download and Sync wait for it.
type Backend struct {
	cfg     config
	ctxName string
	info    kernels.Info
	lim     limits
	budget  *kernels.Budget // the live tensors' bytes against DRSAE_MAX_MEMORY

	mu     sync.Mutex
	taken  sync.Cond // signalled (on mu) when the GL thread takes the queue
	queue  []command // commands not yet taken by the GL thread
	spare  []command // an emptied batch handed back by the GL thread, reused by the next append
	progs  map[progKey]*program
	closed bool

	closeOnce sync.Once
	closeErr  error

	wake   chan struct{} // one token: "the queue is not empty"
	exited chan struct{} // closed when the GL thread has returned

	gl glThread // state owned by the GL thread

	// What the GL thread has issued so far (Counters).
	dispatches, barriers, transfers atomic.Uint64
}

// Counters are what a backend has issued to the device since New: compute dispatches, memory
// barriers and device-side transfers (uploads, copies, clears). On a GPU a barrier makes every
// later dispatch wait for all earlier ones to finish, so barriers count the dependent steps of
// a piece of work: what bounds its time when each dispatch is small (on an H200 about 13 µs
// each, bench/RESULTS.md).
type Counters struct {
	Dispatches, Barriers, Transfers uint64
}

// Counters returns the counts so far, up to the commands the GL thread has taken from the
// queue: call Sync first to count everything submitted.
func (b *Backend) Counters() Counters {
	return Counters{Dispatches: b.dispatches.Load(), Barriers: b.barriers.Load(), Transfers: b.transfers.Load()}
}

var _ kernels.Backend = (*Backend)(nil)

// limits are the GL limits read at start, possibly lowered by test options.
type limits struct {
	maxBytes      int64  // GL_MAX_SHADER_STORAGE_BLOCK_SIZE
	maxGroups     [3]int // GL_MAX_COMPUTE_WORK_GROUP_COUNT
	maxLocal      [3]int // GL_MAX_COMPUTE_WORK_GROUP_SIZE
	maxInvocation int    // GL_MAX_COMPUTE_WORK_GROUP_INVOCATIONS
	maxShared     int    // GL_MAX_COMPUTE_SHARED_MEMORY_SIZE
	maxBlocks     int    // GL_MAX_COMPUTE_SHADER_STORAGE_BLOCKS
}

// errNoCgo is returned by New in a binary built with CGO_ENABLED=0.
var errNoCgo = errors.New("gpu: this binary was built without cgo (CGO_ENABLED=0), so it has no OpenGL; " +
	"rebuild with CGO_ENABLED=1 and a C compiler, with libegl-dev and libgl-dev installed, or use the cpu backend")

// New starts a GL thread, creates an OpenGL context on it (EGL headless unless DRSAE_GL or
// WithContext says otherwise), loads the GL functions, and reads the compute limits. It returns
// an error saying what is missing and what to install when no context can be made.
func New(opts ...Option) (*Backend, error) {
	b := &Backend{
		progs:  map[progKey]*program{},
		wake:   make(chan struct{}, 1),
		exited: make(chan struct{}),
		budget: kernels.NewBudget(kernels.HostMemory() / 4 * 3),
	}
	b.taken.L = &b.mu
	for _, o := range opts {
		o(&b.cfg)
	}
	name, factory, err := contextFactory(b.cfg.context)
	if err != nil {
		return nil, err
	}
	b.ctxName = name
	ready := make(chan error, 1)
	go b.loop(factory, ready)
	if err := <-ready; err != nil {
		<-b.exited
		return nil, err
	}
	if b.cfg.maxGroups > 0 {
		for i := range b.lim.maxGroups {
			b.lim.maxGroups[i] = min(b.lim.maxGroups[i], b.cfg.maxGroups)
		}
	}
	if b.cfg.maxBytes > 0 {
		b.lim.maxBytes = min(b.lim.maxBytes, b.cfg.maxBytes)
	}
	if b.cfg.maxShared > 0 {
		b.lim.maxShared = min(b.lim.maxShared, b.cfg.maxShared)
	}
	b.info.MaxBytes = b.lim.maxBytes
	b.info.MaxWorkGroupCount = b.lim.maxGroups
	b.info.MaxSharedBytes = b.lim.maxShared
	if err := b.lim.enough(b.info.Device); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// The least of each limit that the shaders need: eight storage blocks in one dispatch, work
// groups of 256 invocations, and 24 KiB of shared memory (the tiles of Conv2DBackwardData's
// tiled shader, bwdXS + bwdWS floats; every other shader stages at most 16 KiB). OpenGL 4.3
// guarantees more of each (8 blocks, 1024 invocations, 32 KiB), so only a driver below the
// standard is refused.
const (
	needInvocations = 256
	needShared      = 4 * (bwdXS + bwdWS)
)

// enough returns an error naming every limit of device below what the shaders need.
func (l limits) enough(device string) error {
	var low []string
	if l.maxBlocks < maxBindings {
		low = append(low, fmt.Sprintf("GL_MAX_COMPUTE_SHADER_STORAGE_BLOCKS = %d (want %d)", l.maxBlocks, maxBindings))
	}
	if l.maxInvocation < needInvocations || l.maxLocal[0] < needInvocations {
		low = append(low, fmt.Sprintf("GL_MAX_COMPUTE_WORK_GROUP_INVOCATIONS = %d, GL_MAX_COMPUTE_WORK_GROUP_SIZE[0] = %d (want %d)",
			l.maxInvocation, l.maxLocal[0], needInvocations))
	}
	if l.maxShared < needShared {
		low = append(low, fmt.Sprintf("GL_MAX_COMPUTE_SHARED_MEMORY_SIZE = %d bytes (want %d)", l.maxShared, needShared))
	}
	if l.maxBytes <= 0 {
		low = append(low, fmt.Sprintf("GL_MAX_SHADER_STORAGE_BLOCK_SIZE = %d bytes", l.maxBytes))
	}
	if len(low) == 0 {
		return nil
	}
	return fmt.Errorf("gpu: %s is below what the shaders need: %s", device, strings.Join(low, "; "))
}

// Probe creates a backend, reads its Info, and closes it: what `drsae info` prints.
func Probe(opts ...Option) (kernels.Info, error) {
	b, err := New(opts...)
	if err != nil {
		return kernels.Info{}, err
	}
	info := b.Info()
	return info, b.Close()
}

// Info describes the device and its compute limits. Extra holds "glsl" (the GLSL version),
// "context" (how the context was made) and "max_storage_blocks".
func (b *Backend) Info() kernels.Info {
	info := b.info
	info.Extra = make(map[string]string, len(b.info.Extra))
	for k, v := range b.info.Extra {
		info.Extra[k] = v
	}
	return info
}

// ---- tensors ----

// buffer is one SSBO. id and the hazard marks belong to the GL thread; freed to the callers.
type buffer struct {
	owner   *Backend
	bytes   int
	counted int64 // in the backend's budget
	freed   atomic.Bool

	id          uint32 // GL name, set when the GL thread runs the allocation
	wrote, read uint64 // GL thread: the dispatch sequence numbers of the last shader write and read
}

// tensor is a shaped view of a buffer; Reshape makes another view of the same buffer.
type tensor struct {
	buf   *buffer
	shape []int
	n     int
	view  bool // made by Reshape: Free the original instead
}

func (t *tensor) Shape() []int { return t.shape }
func (t *tensor) Len() int     { return t.n }

func (t *tensor) String() string { return fmt.Sprintf("gpu.Tensor%v", t.shape) }

// t converts an operand to this backend's tensor, and panics on a nil, foreign or freed tensor.
func (b *Backend) t(op string, x kernels.Tensor) *tensor {
	t, ok := x.(*tensor)
	if !ok || t == nil {
		panic(fmt.Sprintf("kernels: %s: operand %T is not a gpu tensor", op, x))
	}
	if t.buf.owner != b {
		panic(fmt.Sprintf("kernels: %s: tensor %v belongs to another gpu backend", op, t.shape))
	}
	if t.buf.freed.Load() {
		panic(fmt.Sprintf("kernels: %s: tensor %v used after Free", op, t.shape))
	}
	return t
}

// sameBuffer reports whether a and b (gpu tensors, already checked by t) share a buffer;
// kernels.CheckNoAlias calls it.
func sameBuffer(a, b kernels.Tensor) bool { return a.(*tensor).buf == b.(*tensor).buf }

// New allocates a zero-filled tensor. A tensor larger than the device's largest storage block
// (GL_MAX_SHADER_STORAGE_BLOCK_SIZE, Info().MaxBytes) is refused with an error; running out of
// device memory is reported by the next Sync or Download.
func (b *Backend) New(shape ...int) (kernels.Tensor, error) {
	n := kernels.Volume("New", shape)
	bytes := int64(n) * 4
	if bytes > b.lim.maxBytes {
		return nil, fmt.Errorf("gpu: New%v: %d bytes exceeds GL_MAX_SHADER_STORAGE_BLOCK_SIZE = %d bytes on %s; "+
			"split the tensor (e.g. a smaller batch)", shape, bytes, b.lim.maxBytes, b.info.Device)
	}
	counted, err := b.budget.Take("gpu: New", shape)
	if err != nil {
		return nil, err
	}
	buf := &buffer{owner: b, bytes: int(max(bytes, 4)), counted: counted}
	b.submit(&command{kind: cmdAlloc, op: "New", buf: buf})
	return &tensor{buf: buf, shape: append([]int(nil), shape...), n: n}, nil
}

// Reshape returns a view of x with another shape of the same length, sharing its buffer.
func (b *Backend) Reshape(x kernels.Tensor, shape ...int) kernels.Tensor {
	t := b.t("Reshape", x)
	if n := kernels.Volume("Reshape", shape); n != t.n {
		panic(fmt.Sprintf("kernels: Reshape: %v has %d values, shape %v has %d", t.shape, t.n, shape, n))
	}
	return &tensor{buf: t.buf, shape: append([]int(nil), shape...), n: t.n, view: true}
}

// Free releases x, and so every view of it. Using it afterwards panics, as does freeing a view.
func (b *Backend) Free(x kernels.Tensor) {
	t := b.t("Free", x)
	if t.view {
		panic(fmt.Sprintf("kernels: Free: tensor %v is a view made by Reshape; free the original", t.shape))
	}
	if !t.buf.freed.CompareAndSwap(false, true) {
		panic(fmt.Sprintf("kernels: Free: tensor %v freed twice", t.shape))
	}
	b.budget.Give(t.buf.counted)
	b.submit(&command{kind: cmdFree, op: "Free", buf: t.buf})
}

// Upload copies src into dst. The data is copied before Upload returns, so src may be reused.
func (b *Backend) Upload(dst kernels.Tensor, src []float32) {
	t := b.t("Upload", dst)
	kernels.CheckUpload("Upload", t, len(src))
	if t.n == 0 {
		return
	}
	b.submit(&command{kind: cmdUpload, op: "Upload", buf: t.buf, host: append([]float32(nil), src...)})
}

// Download waits for the work submitted so far and copies src into dst. It returns the first
// device error, if any (dst is then unchanged).
func (b *Backend) Download(dst []float32, src kernels.Tensor) error {
	t := b.t("Download", src)
	kernels.CheckUpload("Download", t, len(dst))
	reply := make(chan error, 1)
	b.submit(&command{kind: cmdDownload, op: "Download", buf: t.buf, host: dst[:t.n:t.n], reply: reply})
	return <-reply
}

// Copy: dst[i] = src[i]; lengths must match (shapes may differ).
func (b *Backend) Copy(dst, src kernels.Tensor) {
	kernels.CheckLen("Copy", dst, src)
	d, s := b.t("Copy", dst), b.t("Copy", src)
	if d.n == 0 || d.buf == s.buf {
		return
	}
	b.submit(&command{kind: cmdCopy, op: "Copy", buf: d.buf, src: s.buf, bytes: d.n * 4})
}

// Sync waits for all submitted work and returns the first device error, if any. Errors are
// sticky: once one happened, later ops are skipped and every Sync and Download returns it.
func (b *Backend) Sync() error {
	reply := make(chan error, 1)
	b.submit(&command{kind: cmdSync, op: "Sync", reply: reply})
	return <-reply
}

// Close waits for submitted work, releases every buffer and program and the context, and stops
// the GL thread. The backend must not be used afterwards. Close returns the sticky error, if any;
// later calls return the same.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		reply := make(chan error, 1)
		b.submit(&command{kind: cmdClose, op: "Close", reply: reply})
		b.closeErr = <-reply
		<-b.exited
	})
	return b.closeErr
}

// ---- the queue ----

// maxQueued bounds the commands waiting for the GL thread: a caller that runs this far ahead
// waits, so that a loop that never syncs cannot grow the queue (and its host copies) without end.
const maxQueued = 1024

// submit appends a command for the GL thread and wakes it. It waits for the GL thread only when
// maxQueued commands are already waiting.
func (b *Backend) submit(c *command) {
	b.mu.Lock()
	for len(b.queue) >= maxQueued && !b.closed {
		b.taken.Wait()
	}
	if b.closed {
		b.mu.Unlock()
		panic(fmt.Sprintf("kernels: %s: gpu backend used after Close", c.op))
	}
	if c.kind == cmdClose {
		b.closed = true
	}
	if b.queue == nil && b.spare != nil {
		b.queue, b.spare = b.spare, nil
	}
	b.queue = append(b.queue, *c)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default: // already signalled; the GL thread will see this command in its next batch
	}
}

// take hands the queued commands to the GL thread, and takes back the previous batch for reuse.
func (b *Backend) take(done []command) []command {
	b.mu.Lock()
	defer b.mu.Unlock()
	if done != nil && b.spare == nil {
		clear(done) // drop references to buffers, host slices and channels
		b.spare = done[:0]
	}
	q := b.queue
	b.queue = nil
	b.taken.Broadcast()
	return q
}
