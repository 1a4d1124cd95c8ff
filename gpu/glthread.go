//go:build cgo

package gpu

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/go-gl/gl/v4.3-core/gl"

	"github.com/drsae/drsae/kernels"
)

const cgoEnabled = true

// glThread is the state only the GL thread touches.
type glThread struct {
	ctx     Context
	err     error               // sticky: the first failure; later ops are skipped
	seq     uint64              // dispatches so far
	barrier uint64              // seq at the last glMemoryBarrier
	prog    uint32              // program in use
	bound   [maxBindings]uint32 // buffer bound at each SSBO binding point
	live    map[*buffer]struct{}
	progs   []*program // compiled programs, for Close
}

// glInit guards gl.InitWithProcAddrFunc, which fills package-level function pointers: with
// glvnd the pointers are dispatch stubs valid for every context, so loading once is enough.
var (
	glInitMu   sync.Mutex
	glInitDone bool
)

// loop is the GL thread: it creates the context, reports readiness, then runs commands until
// Close.
func (b *Backend) loop(factory ContextFactory, ready chan<- error) {
	runtime.LockOSThread() // never unlocked: the thread dies with the goroutine, context and all
	defer close(b.exited)
	g := &b.gl
	if err := b.start(factory); err != nil {
		if g.ctx != nil {
			g.ctx.Destroy()
		}
		ready <- err
		return
	}
	g.live = map[*buffer]struct{}{}
	g.seq, g.barrier = 1, 1
	ready <- nil
	var batch []command
	for range b.wake {
		batch = b.take(batch)
		for i := range batch {
			if b.exec(&batch[i]) {
				return
			}
		}
	}
}

// start makes the context current, loads GL, and reads the device description and limits.
func (b *Backend) start(factory ContextFactory) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gpu: creating the %s context: %v", b.ctxName, r)
		}
	}()
	ctx, err := factory()
	if err != nil {
		return err
	}
	b.gl.ctx = ctx
	glInitMu.Lock()
	if !glInitDone {
		err = gl.InitWithProcAddrFunc(ctx.ProcAddr)
		glInitDone = err == nil
	}
	glInitMu.Unlock()
	if err != nil {
		return fmt.Errorf("gpu: loading OpenGL functions through %s: missing %v; the driver offers no OpenGL 4.3 core", ctx.Describe(), err)
	}
	str := func(name uint32) string {
		if p := gl.GetString(name); p != nil {
			return gl.GoStr(p)
		}
		return ""
	}
	var major, minor int32
	gl.GetIntegerv(gl.MAJOR_VERSION, &major)
	gl.GetIntegerv(gl.MINOR_VERSION, &minor)
	version := str(gl.VERSION)
	if major < 4 || major == 4 && minor < 3 {
		return fmt.Errorf("gpu: %s gives OpenGL %q, want 4.3 or later for compute shaders", ctx.Describe(), version)
	}
	lim := &b.lim
	gl.GetInteger64v(gl.MAX_SHADER_STORAGE_BLOCK_SIZE, &lim.maxBytes)
	for i := range 3 {
		var c, s int32
		gl.GetIntegeri_v(gl.MAX_COMPUTE_WORK_GROUP_COUNT, uint32(i), &c)
		gl.GetIntegeri_v(gl.MAX_COMPUTE_WORK_GROUP_SIZE, uint32(i), &s)
		lim.maxGroups[i], lim.maxLocal[i] = int(c), int(s)
	}
	geti := func(name uint32) int {
		var v int32
		gl.GetIntegerv(name, &v)
		return int(v)
	}
	lim.maxInvocation = geti(gl.MAX_COMPUTE_WORK_GROUP_INVOCATIONS)
	lim.maxShared = geti(gl.MAX_COMPUTE_SHARED_MEMORY_SIZE)
	lim.maxBlocks = geti(gl.MAX_COMPUTE_SHADER_STORAGE_BLOCKS)
	if e := gl.GetError(); e != gl.NO_ERROR {
		return fmt.Errorf("gpu: reading limits on %s: %s", ctx.Describe(), glErrorName(e))
	}
	b.info = kernels.Info{
		Name:                    "gpu",
		Device:                  str(gl.RENDERER),
		Vendor:                  str(gl.VENDOR),
		Version:                 version,
		MaxBytes:                lim.maxBytes,
		MaxWorkGroupCount:       lim.maxGroups,
		MaxWorkGroupSize:        lim.maxLocal,
		MaxWorkGroupInvocations: lim.maxInvocation,
		MaxSharedBytes:          lim.maxShared,
		Software:                isSoftwareRenderer(str(gl.RENDERER)),
		Extra: map[string]string{
			"glsl":               str(gl.SHADING_LANGUAGE_VERSION),
			"context":            ctx.Describe(),
			"max_storage_blocks": fmt.Sprint(lim.maxBlocks),
		},
	}
	return nil
}

// isSoftwareRenderer tells Mesa's CPU rasterizers (llvmpipe, softpipe, swrast, SWR) from a GPU.
func isSoftwareRenderer(renderer string) bool {
	r := strings.ToLower(renderer)
	for _, s := range []string{"llvmpipe", "softpipe", "swrast", "swr", "software"} {
		if strings.Contains(r, s) {
			return true
		}
	}
	return false
}

// exec runs one command on the GL thread. It returns true when the thread must stop.
func (b *Backend) exec(c *command) (stop bool) {
	g := &b.gl
	defer func() {
		// A panic here is a bug in this package; keep the GL thread alive and report it.
		if r := recover(); r != nil {
			g.fail(fmt.Errorf("gpu: %s: internal error on the GL thread: %v", c.op, r))
			if c.reply != nil {
				c.reply <- g.err
			}
		}
	}()
	switch c.kind {
	case cmdAlloc:
		// Allocate even after an error, so later Free and Close see a consistent state.
		gl.GenBuffers(1, &c.buf.id)
		gl.BindBuffer(gl.SHADER_STORAGE_BUFFER, c.buf.id)
		gl.BufferData(gl.SHADER_STORAGE_BUFFER, c.buf.bytes, nil, gl.DYNAMIC_COPY)
		gl.ClearBufferData(gl.SHADER_STORAGE_BUFFER, gl.R32F, gl.RED, gl.FLOAT, nil)
		b.transfer(nil, c.buf) // the clear is a write that later work must wait for
		g.live[c.buf] = struct{}{}
		if e := gl.GetError(); e != gl.NO_ERROR {
			g.fail(fmt.Errorf("gpu: %s: allocating %d bytes: %s", c.op, c.buf.bytes, glErrorName(e)))
			for gl.GetError() != gl.NO_ERROR { // drain
			}
		}
	case cmdFree:
		g.free(c.buf)
	case cmdUpload:
		if g.err != nil {
			return
		}
		// Through a staging buffer that no earlier command uses, copied on the device: the copy
		// is ordered after the work queued before it (a dispatch still reading the old
		// contents, the clear of a new buffer). Writing the buffer itself with glBufferSubData
		// raced with that work on NVIDIA's driver 580: uploads were lost or overwrote data an
		// earlier dispatch had not yet read.
		var staging uint32
		gl.GenBuffers(1, &staging)
		gl.BindBuffer(gl.COPY_READ_BUFFER, staging)
		n := 4 * len(c.host)
		if c.hostInt != nil {
			n = 4 * len(c.hostInt)
			gl.BufferData(gl.COPY_READ_BUFFER, n, unsafe.Pointer(&c.hostInt[0]), gl.STREAM_DRAW)
		} else {
			gl.BufferData(gl.COPY_READ_BUFFER, n, unsafe.Pointer(&c.host[0]), gl.STREAM_DRAW)
		}
		b.barrierFor(c.buf, true)
		gl.BindBuffer(gl.COPY_WRITE_BUFFER, c.buf.id)
		gl.CopyBufferSubData(gl.COPY_READ_BUFFER, gl.COPY_WRITE_BUFFER, 0, 0, n)
		gl.DeleteBuffers(1, &staging) // freed by the driver once the copy is done
		b.transfer(nil, c.buf)
		g.check(c, "uploading")
	case cmdDownload:
		if g.err == nil && len(c.host) > 0 {
			b.barrierFor(c.buf, false)
			gl.BindBuffer(gl.SHADER_STORAGE_BUFFER, c.buf.id)
			gl.GetBufferSubData(gl.SHADER_STORAGE_BUFFER, 0, 4*len(c.host), unsafe.Pointer(&c.host[0]))
			g.check(c, "downloading")
		}
		c.reply <- g.err
	case cmdCopy:
		if g.err != nil {
			return
		}
		b.barrierFor(c.src, false)
		b.barrierFor(c.buf, true)
		gl.BindBuffer(gl.COPY_READ_BUFFER, c.src.id)
		gl.BindBuffer(gl.COPY_WRITE_BUFFER, c.buf.id)
		gl.CopyBufferSubData(gl.COPY_READ_BUFFER, gl.COPY_WRITE_BUFFER, 0, 0, c.bytes)
		b.transfer(c.src, c.buf)
		g.check(c, "copying")
	case cmdDispatch:
		if g.err != nil {
			return
		}
		b.dispatch(c)
	case cmdHost:
		if g.err != nil {
			return
		}
		if err := c.fn(); err != nil {
			g.fail(err) // fn's error names the op itself
		}
	case cmdSync:
		if g.err == nil {
			gl.Finish()
			g.check(c, "finishing")
		}
		c.reply <- g.err
	case cmdClose:
		if g.err == nil {
			gl.Finish()
		}
		for buf := range g.live {
			g.free(buf)
		}
		for _, p := range g.progs {
			gl.DeleteProgram(p.id)
		}
		g.ctx.Destroy()
		c.reply <- g.err
		return true
	}
	return false
}

// dispatch runs a compute program over the command's buffers and uniforms, preceded by a
// barrier when one of them was written by an earlier dispatch since the last barrier (or, for
// a buffer this one writes, read by one).
func (b *Backend) dispatch(c *command) {
	g := &b.gl
	p := c.prog
	if p.id == 0 && p.err == nil {
		p.id, p.err = b.compile(p)
		if p.err == nil {
			g.progs = append(g.progs, p)
		}
	}
	if p.err != nil {
		g.fail(fmt.Errorf("gpu: %s: %w", c.op, p.err))
		return
	}
	need := false
	for _, bd := range c.binds[:c.nbind] {
		if bd.buf.wrote > g.barrier || bd.write && bd.buf.read > g.barrier {
			need = true
		}
	}
	if need {
		gl.MemoryBarrier(barrierBits)
		g.barrier = g.seq
		b.barriers.Add(1)
	}
	g.seq++
	b.dispatches.Add(1)
	if g.prog != p.id {
		gl.UseProgram(p.id)
		g.prog = p.id
	}
	for i, bd := range c.binds[:c.nbind] {
		if g.bound[i] != bd.buf.id {
			gl.BindBufferBase(gl.SHADER_STORAGE_BUFFER, uint32(i), bd.buf.id)
			g.bound[i] = bd.buf.id
		}
		if bd.write {
			bd.buf.wrote = g.seq
		} else {
			bd.buf.read = g.seq
		}
	}
	for i, u := range c.unis[:c.nuni] {
		switch u.kind {
		case uniUint:
			gl.Uniform1ui(int32(i), u.bits)
		case uniInt:
			gl.Uniform1i(int32(i), int32(u.bits))
		case uniFloat:
			gl.Uniform1f(int32(i), math.Float32frombits(u.bits))
		}
	}
	gl.DispatchCompute(c.groups[0], c.groups[1], 1)
	if e := gl.GetError(); e != gl.NO_ERROR {
		g.fail(fmt.Errorf("gpu: %s: dispatching %s on %d×%d groups: %s", c.op, p.describe(), c.groups[0], c.groups[1], glErrorName(e)))
		for gl.GetError() != gl.NO_ERROR { // drain
		}
	}
}

// barrierBits are the glMemoryBarrier bits of every barrier: shader storage for dispatch after
// dispatch, buffer update for copies and downloads after dispatches (and the reverse).
const barrierBits = gl.SHADER_STORAGE_BARRIER_BIT | gl.BUFFER_UPDATE_BARRIER_BIT

// barrierFor issues a barrier before a buffer operation (copy, upload, download) on buf when a
// dispatch or transfer wrote it since the last barrier, or, for an operation that writes buf,
// read it.
func (b *Backend) barrierFor(buf *buffer, write bool) {
	g := &b.gl
	if buf.wrote > g.barrier || write && buf.read > g.barrier {
		gl.MemoryBarrier(barrierBits)
		g.barrier = g.seq
		b.barriers.Add(1)
	}
}

// transfer records a device-side copy (or clear, src nil) into dst as one step of the sequence,
// so that the next dispatch or transfer touching src or dst is preceded by a barrier. The GL
// specification orders copies and dispatches by itself; the barrier is a precaution taken with
// the staging uploads after NVIDIA's driver misordered uploads (the H200 run verified the two
// together, not each alone).
func (b *Backend) transfer(src, dst *buffer) {
	g := &b.gl
	b.transfers.Add(1)
	g.seq++
	if src != nil {
		src.read = g.seq
	}
	dst.wrote = g.seq
}

func (g *glThread) free(buf *buffer) {
	if _, ok := g.live[buf]; !ok {
		return
	}
	delete(g.live, buf)
	for i := range g.bound {
		if g.bound[i] == buf.id {
			g.bound[i] = 0
		}
	}
	gl.DeleteBuffers(1, &buf.id)
	buf.id = 0
}

// fail records the first error; later ops are skipped.
func (g *glThread) fail(err error) {
	if g.err == nil {
		g.err = err
	}
}

// check turns a pending GL error into the sticky error, naming the op. The message is built
// only when there is an error, so that the common path allocates nothing.
func (g *glThread) check(c *command, what string) {
	if e := gl.GetError(); e != gl.NO_ERROR {
		g.fail(fmt.Errorf("gpu: %s: %s: %s", c.op, what, glErrorName(e)))
		for gl.GetError() != gl.NO_ERROR { // drain
		}
	}
}

// compile builds a program; its error carries the info log.
func (b *Backend) compile(p *program) (uint32, error) {
	src, err := b.source(p)
	if err != nil {
		return 0, err
	}
	sh := gl.CreateShader(gl.COMPUTE_SHADER)
	defer gl.DeleteShader(sh)
	csrc, free := gl.Strs(src + "\x00")
	n := int32(len(src))
	gl.ShaderSource(sh, 1, csrc, &n)
	free()
	gl.CompileShader(sh)
	var ok int32
	gl.GetShaderiv(sh, gl.COMPILE_STATUS, &ok)
	if ok == gl.FALSE {
		return 0, fmt.Errorf("compiling %s failed:\n%s", p.describe(), infoLog(sh, gl.GetShaderiv, gl.GetShaderInfoLog))
	}
	prog := gl.CreateProgram()
	gl.AttachShader(prog, sh)
	gl.LinkProgram(prog)
	gl.GetProgramiv(prog, gl.LINK_STATUS, &ok)
	if ok == gl.FALSE {
		log := infoLog(prog, gl.GetProgramiv, gl.GetProgramInfoLog)
		gl.DeleteProgram(prog)
		return 0, fmt.Errorf("linking %s failed:\n%s", p.describe(), log)
	}
	return prog, nil
}

func infoLog(obj uint32, getiv func(uint32, uint32, *int32), getLog func(uint32, int32, *int32, *uint8)) string {
	var n int32
	getiv(obj, gl.INFO_LOG_LENGTH, &n)
	if n <= 1 {
		return "(no info log)"
	}
	buf := make([]uint8, n)
	getLog(obj, n, nil, &buf[0])
	return strings.TrimRight(string(buf[:n-1]), "\x00\n")
}

func glErrorName(e uint32) string {
	switch e {
	case gl.INVALID_ENUM:
		return "GL_INVALID_ENUM"
	case gl.INVALID_VALUE:
		return "GL_INVALID_VALUE"
	case gl.INVALID_OPERATION:
		return "GL_INVALID_OPERATION"
	case gl.OUT_OF_MEMORY:
		return "GL_OUT_OF_MEMORY (the device ran out of memory: free tensors or use smaller batches)"
	case gl.INVALID_FRAMEBUFFER_OPERATION:
		return "GL_INVALID_FRAMEBUFFER_OPERATION"
	}
	return fmt.Sprintf("GL error 0x%x", e)
}
