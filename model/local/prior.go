package local

import (
	"math"
	"runtime"
	"sync"

	"github.com/drsae/drsae/kernels"
)

// orientPrior is the orientation prior on the decoder filters (Config.OrientationPrior ν > 0):
//
//	E(D) = −½ν Σ_uv J_uv Re(o_u ō_v),   o_u = Σ_k P_u(k) e^{2iφ_k} / Σ_k P_u(k)
//
// with P_u the power spectrum of unit u's F×F filter (its DFT without zero padding, the constant
// term left out), φ_k the angle of wave vector k, so that o_u is the filter's orientation vector
// (its argument 2θ up to the sign convention, |o_u| ≤ 1 its selectivity), and J_uv = −g(d_uv), g
// the band function of wavelength Λ₀ (bandFunction) for offsets within 3.5Λ₀ along each axis: Ĵ
// is a ring of height 1 at wavelength Λ₀, so E = −½ν Σ_k Ĵ(k)|ô(k)|² rewards orientation maps
// whose spectrum lies on that ring — the quadratic part of the long-range interaction models of
// orientation maps (Wolf 2005, Kaschube et al. 2010). It is a function of the parameters alone,
// added once to the loss of the batch mean, and computed on the host: D downloaded once per step,
// plain DFTs (O(Units·F⁴)).
type orientPrior struct {
	nu       float64
	f2       int
	cs, sn   []float64 // [F², F²]: cos, sin of ω_k·x
	c2, s2   []float64 // [F²]: cos 2φ_k, sin 2φ_k (0 for the constant term)
	rad      int       // J's reach, in map units
	j        []float64 // [(2rad+1)²]: −J by offset
	pos      [][2]int  // D's unit order → map row, column
	h, w     int
	d, grad  []float32 // host copies of D and of dE/dD
	dev      kernels.Tensor
	re, im   []float64 // [Units, F²]: the filters' DFTs
	acc      []float64 // [Units, F²]: dE/dD before its conversion to float32
	o, n, gr []float64 // o_u (re, im pairs), Σ_k P_u(k), ∂E/∂o_u (pairs), by unit in D's order
	field    []float64 // o on the map, [h·w] pairs
}

func newOrientPrior(be kernels.Backend, c Config) (*orientPrior, error) {
	f := c.Filter
	n, m := f*f, c.Units()
	p := &orientPrior{nu: c.OrientationPrior, f2: n, cs: make([]float64, n*n), sn: make([]float64, n*n),
		c2: make([]float64, n), s2: make([]float64, n)}
	for ky := range f {
		for kx := range f {
			k := ky*f + kx
			fy, fx := signedFreq(ky, f), signedFreq(kx, f)
			if k != 0 {
				phi := math.Atan2(fy, fx)
				p.c2[k], p.s2[k] = math.Cos(2*phi), math.Sin(2*phi)
			}
			for y := range f {
				for x := range f {
					a := 2 * math.Pi * (fy*float64(y) + fx*float64(x))
					p.cs[k*n+y*f+x], p.sn[k*n+y*f+x] = math.Cos(a), math.Sin(a)
				}
			}
		}
	}
	p.h, p.w = c.MapSize()
	reach := max(p.h, p.w)
	g := bandFunction(c.OrientationWavelength, reach)
	p.rad = min(reach, int(math.Ceil(3.5*c.OrientationWavelength)))
	side := 2*p.rad + 1
	p.j = make([]float64, side*side)
	for dy := -p.rad; dy <= p.rad; dy++ {
		for dx := -p.rad; dx <= p.rad; dx++ {
			p.j[(dy+p.rad)*side+dx+p.rad] = g[dy*dy+dx*dx]
		}
	}
	ho, wo := c.Positions()
	for i := range ho {
		for j := range wo {
			for k := range c.Site * c.Site {
				p.pos = append(p.pos, [2]int{i*c.Site + k/c.Site, j*c.Site + k%c.Site})
			}
		}
	}
	p.d, p.grad = make([]float32, m*n), make([]float32, m*n)
	p.re, p.im, p.acc = make([]float64, m*n), make([]float64, m*n), make([]float64, m*n)
	p.o, p.n, p.gr = make([]float64, 2*m), make([]float64, m), make([]float64, 2*m)
	p.field = make([]float64, 2*p.h*p.w)
	var err error
	p.dev, err = be.New(m * n)
	return p, err
}

// energy downloads D and returns E(D); with grad, it also adds dE/dD to dD.
func (p *orientPrior) energy(be kernels.Backend, d, dD kernels.Tensor, grad bool) (float64, error) {
	if err := be.Download(p.d, d); err != nil {
		return 0, err
	}
	e := p.eval(p.d, grad)
	if grad {
		be.Upload(p.dev, p.grad)
		be.Axpby(1, p.dev, 1, be.Reshape(dD, dD.Len()))
	}
	return e, nil
}

// eval returns E(d) and, with grad, writes dE/dd into p.grad.
func (p *orientPrior) eval(d []float32, grad bool) float64 {
	n, m := p.f2, len(p.pos)
	parallel(m, func(u int) {
		du := d[u*n : (u+1)*n]
		var sr, si, st float64
		for k := range n {
			var a, b float64
			for x := range n {
				a += float64(du[x]) * p.cs[k*n+x]
				b -= float64(du[x]) * p.sn[k*n+x]
			}
			p.re[u*n+k], p.im[u*n+k] = a, b
			if k == 0 {
				continue
			}
			pw := a*a + b*b
			sr += pw * p.c2[k]
			si += pw * p.s2[k]
			st += pw
		}
		st += 1e-6
		p.o[2*u], p.o[2*u+1], p.n[u] = sr/st, si/st, st
	})
	for u, q := range p.pos {
		i := q[0]*p.w + q[1]
		p.field[2*i], p.field[2*i+1] = p.o[2*u], p.o[2*u+1]
	}
	side := 2*p.rad + 1
	parallel(m, func(u int) { // ∂E/∂o_u = ν Σ_v (−J_uv) o_v
		r0, c0 := p.pos[u][0], p.pos[u][1]
		var a, b float64
		for dy := max(-p.rad, -r0); dy <= min(p.rad, p.h-1-r0); dy++ {
			row, jrow := (r0+dy)*p.w, (dy+p.rad)*side
			for dx := max(-p.rad, -c0); dx <= min(p.rad, p.w-1-c0); dx++ {
				jv := p.j[jrow+dx+p.rad]
				a += jv * p.field[2*(row+c0+dx)]
				b += jv * p.field[2*(row+c0+dx)+1]
			}
		}
		p.gr[2*u], p.gr[2*u+1] = p.nu*a, p.nu*b
	})
	var e float64
	for u := range m {
		e += 0.5 * (p.gr[2*u]*p.o[2*u] + p.gr[2*u+1]*p.o[2*u+1])
	}
	if !grad {
		return e
	}
	parallel(m, func(u int) {
		acc := p.acc[u*n : (u+1)*n]
		clear(acc)
		gre, gim, ore, oim := p.gr[2*u], p.gr[2*u+1], p.o[2*u], p.o[2*u+1]
		for k := 1; k < n; k++ {
			dp := (gre*(p.c2[k]-ore) + gim*(p.s2[k]-oim)) / p.n[u]
			a, b := p.re[u*n+k], p.im[u*n+k]
			for x := range n {
				acc[x] += dp * (2*a*p.cs[k*n+x] - 2*b*p.sn[k*n+x])
			}
		}
		for x := range n {
			p.grad[u*n+x] = float32(acc[x])
		}
	})
	return e
}

// parallel runs f(u) for u in [0, m), interleaved over GOMAXPROCS goroutines.
func parallel(m int, f func(int)) {
	var wg sync.WaitGroup
	procs := runtime.GOMAXPROCS(0)
	for t := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := t; u < m; u += procs {
				f(u)
			}
		}()
	}
	wg.Wait()
}
