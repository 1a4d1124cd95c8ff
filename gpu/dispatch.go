package gpu

import (
	"fmt"
	"math"
	"strings"

	"github.com/drsae/drsae/kernels/glsl"
)

// maxBindings and maxUniforms bound what one dispatch may carry (the command is a fixed-size
// value, so queueing an op allocates nothing).
const (
	maxBindings = 8
	maxUniforms = 20
)

type cmdKind uint8

const (
	cmdDispatch cmdKind = iota
	cmdAlloc            // create buf, zero-filled
	cmdFree             // delete buf
	cmdUpload           // host → buf
	cmdDownload         // buf → host, then reply
	cmdCopy             // src → buf (bytes)
	cmdSync             // glFinish, then reply
	cmdClose            // release everything, reply, and stop the GL thread
	cmdHost             // run fn on the GL thread (rare operations: pool layouts)
)

type uniformKind uint8

const (
	uniUint uniformKind = iota
	uniInt
	uniFloat
)

type uniform struct {
	kind uniformKind
	bits uint32
}

type binding struct {
	buf   *buffer
	write bool
}

// command is one unit of work for the GL thread.
type command struct {
	kind   cmdKind
	op     string // the op's name, for errors
	prog   *program
	nbind  uint8
	nuni   uint8
	groups [2]uint32
	binds  [maxBindings]binding
	unis   [maxUniforms]uniform

	buf, src *buffer
	bytes    int
	host     []float32
	hostInt  []int32
	reply    chan error
	fn       func() error
}

// ---- building a dispatch (see "Adding an op" in doc.go) ----

// kernel starts a dispatch of the program prog for op.
func (b *Backend) kernel(op string, prog *program) command {
	return command{kind: cmdDispatch, op: op, prog: prog}
}

// in binds t, read only, at the next binding point (0, 1, …, in the order of the calls).
func (c *command) in(t *tensor) *command { return c.bind(t.buf, false) }

// out binds t, written (and possibly read), at the next binding point.
func (c *command) out(t *tensor) *command { return c.bind(t.buf, true) }

func (c *command) bind(buf *buffer, write bool) *command {
	if int(c.nbind) == maxBindings {
		panic(fmt.Sprintf("gpu: %s: more than %d buffers in one dispatch", c.op, maxBindings))
	}
	c.binds[c.nbind] = binding{buf: buf, write: write}
	c.nbind++
	return c
}

// u32, i32 and f32 set the uniform at the next location (0, 1, …, in the order of the calls).
func (c *command) u32(v int) *command {
	if v < 0 || v > math.MaxUint32 {
		panic(fmt.Sprintf("gpu: %s: uniform value %d out of uint range", c.op, v))
	}
	return c.uniform(uniUint, uint32(v))
}

func (c *command) i32(v int) *command {
	if v < math.MinInt32 || v > math.MaxInt32 {
		panic(fmt.Sprintf("gpu: %s: uniform value %d out of int range", c.op, v))
	}
	return c.uniform(uniInt, uint32(int32(v)))
}

func (c *command) f32(v float32) *command { return c.uniform(uniFloat, math.Float32bits(v)) }

func (c *command) uniform(k uniformKind, bits uint32) *command {
	if int(c.nuni) == maxUniforms {
		panic(fmt.Sprintf("gpu: %s: more than %d uniforms in one dispatch", c.op, maxUniforms))
	}
	c.unis[c.nuni] = uniform{kind: k, bits: bits}
	c.nuni++
	return c
}

// elements submits c over n elements with one invocation per element: ⌈n/LOCAL_SIZE⌉ groups,
// folded into a 2D grid (and strided over, when even that is too small) by grid. The shader
// loops with FOR_EACH_INDEX(i, n). Nothing is submitted when n is 0.
func (b *Backend) elements(c *command, n int) {
	if n <= 0 {
		return
	}
	b.groups(c, (n+c.prog.local-1)/c.prog.local)
}

// groups submits c with one work group per item (a row, a column block, a tile): count groups
// folded into a 2D grid. The shader loops with FOR_EACH_GROUP(g, count).
func (b *Backend) groups(c *command, count int) {
	if count <= 0 {
		return
	}
	c.groups = b.grid(count)
	b.submit(c)
}

// grid folds count groups into x·y groups within the work-group count limits. When count
// exceeds what two dimensions allow, x·y < count and the shaders' loops cover the rest.
func (b *Backend) grid(count int) [2]uint32 {
	gx := min(count, b.lim.maxGroups[0])
	gy := min((count+gx-1)/gx, b.lim.maxGroups[1])
	return [2]uint32{uint32(gx), uint32(gy)}
}

// ---- programs ----

type progKey struct {
	file    string
	defines string
	local   int
}

// program is one compiled variant of a shader file. id and err belong to the GL thread, which
// compiles the program when it first runs it.
type program struct {
	progKey
	id  uint32
	err error
}

// program returns the variant of a shader file with LOCAL_SIZE local and the #define lines in
// defines (e.g. "TRANS_A\nTILE 64"; each line becomes "#define <line>"). Variants are cached by
// (file, defines, local); pass constant strings so the lookup allocates nothing.
func (b *Backend) program(file string, local int, defines string) *program {
	k := progKey{file: file, defines: defines, local: local}
	b.mu.Lock()
	p := b.progs[k]
	if p == nil {
		p = &program{progKey: k}
		b.progs[k] = p
	}
	b.mu.Unlock()
	return p
}

// source assembles the text of p: the #version line, the #defines, the header, then the rest of
// the file numbered as source 0 from line 2.
func (b *Backend) source(p *program) (string, error) {
	src, ok := b.cfg.shaders[p.file]
	if !ok {
		src, ok = glsl.Source(p.file)
	}
	if !ok {
		return "", fmt.Errorf("no shader file %s in kernels/glsl", p.file)
	}
	version, body, _ := strings.Cut(src, "\n")
	if !strings.HasPrefix(version, "#version") {
		return "", fmt.Errorf("shader %s does not start with a #version line", p.file)
	}
	var s strings.Builder
	s.WriteString(version)
	s.WriteString("\n")
	fmt.Fprintf(&s, "#define LOCAL_SIZE %d\n", p.local)
	for _, d := range strings.Split(p.defines, "\n") {
		if d = strings.TrimSpace(d); d != "" {
			s.WriteString("#define " + d + "\n")
		}
	}
	s.WriteString("#line 1 1\n")
	s.WriteString(glsl.Header)
	s.WriteString("\n#line 2 0\n")
	s.WriteString(body)
	return s.String(), nil
}

// describe names a program for error messages: "gemm.comp (LOCAL_SIZE 256; TRANS_A)".
func (p *program) describe() string {
	d := fmt.Sprintf("LOCAL_SIZE %d", p.local)
	if p.defines != "" {
		d += "; " + strings.ReplaceAll(strings.TrimSpace(p.defines), "\n", "; ")
	}
	return fmt.Sprintf("%s (%s)", p.file, d)
}
