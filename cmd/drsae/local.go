package main

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/drsae/drsae/model"
	"github.com/drsae/drsae/model/local"
	"github.com/drsae/drsae/viz"
)

func init() {
	cliKinds[local.Kind] = &cliKind{help: localHelp, report: localReport, show: localShow}
}

const localHelp = `Train a locally connected sparse auto-encoder on whole images (after Gregor & LeCun 2010):
every unit of a map has its own --filter × --filter window on the image (windows step by --stride,
--site × --site units per window position; no weight sharing), with
  code z_u = g_u · max(0, ⟨W_u, window_u(x)⟩ − b_u),
  reconstruction x̂ = Σ_u z_u D_u on window_u (a filter D_u of norm ≤ 1 per unit),
  loss ½‖x − x̂‖² + λ Σ_cells √(ε + Σ_{u∈cell} w_u z_u²) [+ ½μ Σ_uv K_uv z_u z_v],
where a complex cell L2-pools a --pool × --pool window of neighbouring units of the map (Gaussian
weights of σ --pool-sigma; --torus wraps the cells around the map's edges). With --surround μ,
units inhibit each other over K_uv = exp(−(d_uv − R)²/2σ²) of their distance on the map, a ring of
radius R (--surround-radius; 0: a Gaussian) and width σ (--surround-sigma): with the pooling's
short-range cooperation, a Mexican-hat interaction on the map (--surround-wavelength Λ₀: a band
kernel penalizing every spatial frequency of the codes on the map but 1/Λ₀'s instead). With
--orientation-prior ν, the loss adds −½ν Σ_uv J_uv Re(o_u ō_v) over the orientation vectors o_u of
the decoder filters (from their power spectra), J a kernel whose spectrum is a ring of wavelength
--orientation-wavelength: it rewards orientation maps of that column spacing (docs/local.md).

The images are --patch × --patch crops of the CC0 photographs embedded in drsae (or --images),
locally contrast normalized (--lcn-sigma), each with its mean removed. At the end the report
measures the orientation map of the decoder filters: each unit's preferred orientation θ (from
its filter's power spectrum), how much map neighbours' orientations differ against random pairs',
the pinwheels (±1 windings of exp(2iθ) around plaquettes of the map), the column spacing Λ (the
peak of the power spectrum of exp(2iθ)) and the pinwheels per Λ² — about π in the visual cortex of
tree shrews, galagos and ferrets (Kaschube et al. 2010) — on the map as measured, and by Kaschube
et al.'s procedure: Λ from their fit to the power spectrum of s·exp(2iθ) (s the selectivity), the
map band-pass filtered (wavelengths 0.45Λ to 1.75Λ), pinwheels counted at least Λ from the border.
drsae show draws the filters on the map and the orientation map with its pinwheels, as measured
and band-passed (docs/local.md).`

func localReport(c *useContext, mod model.Module, s *model.Samples) error {
	l := mod.(*local.LocalSparseAE)
	cfg := l.Config().(*local.Config)
	works := model.NewWorks(l)
	defer works.Free()
	sums, err := model.Evaluate(l, works, s, c.batch, 0)
	if err != nil {
		return err
	}
	h, w := cfg.MapSize()
	fmt.Fprintf(stdout, "½‖x − x̂‖² = %.4g per image (‖x‖² %.4g), penalty Σ√(ε+Σwz²) = %.4g, loss %.4g; active units %.1f%%\n",
		sums.Mean("recon"), meanSquare(s), sums.Mean("penalty"), sums.Mean("loss"), 100*sums.Mean("active"))
	switch {
	case cfg.Surround > 0 && cfg.SurroundWavelength > 0:
		fmt.Fprintf(stdout, "surround inhibition ½ΣK_uv z_u z_v = %.4g (μ = %g, band kernel of wavelength %g units; in the loss)\n",
			sums.Mean("surround"), cfg.Surround, cfg.SurroundWavelength)
	case cfg.Surround > 0:
		fmt.Fprintf(stdout, "surround inhibition ½ΣK_uv z_u z_v = %.4g (μ = %g, ring R = %g, σ = %g units; in the loss)\n",
			sums.Mean("surround"), cfg.Surround, cfg.SurroundRadius, cfg.SurroundSigma)
	}
	if cfg.OrientationPrior > 0 {
		fmt.Fprintf(stdout, "orientation prior −½ν ΣJ_uv Re(o_u ō_v) = %.4g (ν = %g, wavelength %g units; in the loss)\n",
			sums.Mean("prior"), cfg.OrientationPrior, cfg.OrientationWavelength)
	}
	fmt.Fprintf(stdout, "map %d×%d units (%d window positions × %d), %d weights in each of W and D, %d complex cells\n",
		h, w, h*w/(cfg.Site*cfg.Site), cfg.Site*cfg.Site, cfg.Weights(), l.Layout.NumPools())
	om, err := l.OrientationMap()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "orientation map of the decoder filters, as measured:")
	printMapMeasures(om.Measure())
	if !printDensity(om.KaschubeDensity()) {
		return nil
	}
	mean, sd := om.SurrogateDensity(10)
	fmt.Fprintf(stdout, "  the same power spectrum with random phases (10 surrogates, same procedure): %.2f ± %.2f pinwheels per Λ²\n", mean, sd)
	return nil
}

// printMapMeasures prints an orientation map's figures.
func printMapMeasures(m local.MapMeasures) {
	deg := 180 / math.Pi
	fmt.Fprintf(stdout, "  mean selectivity %.2f; orientation difference of map neighbours %.1f°, of random pairs %.1f° (ratio %.2f)\n",
		m.Selectivity, m.Neighbour*deg, m.Random*deg, m.Ratio)
	fmt.Fprintf(stdout, "  pinwheels %d (%d +, %d −) in %.0f plaquettes; column spacing Λ = %.2f units (spectrum's peak); %.2f pinwheels per Λ²\n",
		m.Pinwheels, m.Plus, m.Minus, m.Area, m.Lambda, m.Density)
	fmt.Fprintf(stdout, "  orientations within 22.5° of 0°, 45°, 90°, 135°: %.0f%%, %.0f%%, %.0f%%, %.0f%% of the units (|mean e^{4iθ}| = %.2f: 0 even, 1 two orientations)\n",
		100*m.Coverage[0], 100*m.Coverage[1], 100*m.Coverage[2], 100*m.Coverage[3], m.Cardinal)
}

// printDensity prints the pinwheel density measured by Kaschube et al.'s procedure, and reports
// whether there was one: a column spacing too long for the map leaves no plaquette to count.
func printDensity(d local.PinwheelDensity) bool {
	where := "the whole torus"
	if d.Margin > 0 {
		where = fmt.Sprintf("plaquettes ≥ %d units from the border", d.Margin)
	}
	fit := "Eq. 7 fit of the spectrum"
	if !d.Fit.OK {
		fit = "no peak fitted: the spectrum's peak"
	}
	fmt.Fprintf(stdout, "pinwheel density by Kaschube et al.'s procedure (field s·exp(2iθ), Fermi band-pass %.2fΛ–%.2fΛ, %s):\n",
		local.BandShort, local.BandLong, where)
	if d.Area == 0 {
		fmt.Fprintf(stdout, "  column spacing Λ = %.2f units (%s): no plaquette of the map lies ≥ %d units from its border; no density\n",
			d.Lambda, fit, d.Margin)
		return false
	}
	fmt.Fprintf(stdout, "  column spacing Λ = %.2f units (%s); pinwheels %d (%d +, %d −) in %.0f plaquettes; %.2f pinwheels per Λ² (cortex: π ≈ 3.14)\n",
		d.Lambda, fit, d.Pinwheels, d.Plus, d.Minus, d.Area, d.Density)
	return true
}

// localShow draws the decoder and encoder filters on the map and the orientation map, as measured
// and band-passed (KaschubeDensity): each unit's preferred orientation as a hue (twice the angle around the colour
// circle, so θ and θ + π are one colour), its selectivity as brightness, pinwheels marked by white
// (+1) and black (−1) dots.
func localShow(c *useContext, mod model.Module, prefix string) ([]string, error) {
	l := mod.(*local.LocalSparseAE)
	cfg := l.Config().(*local.Config)
	h, w := cfg.MapSize()
	var written []string
	for _, p := range []struct {
		file    string
		decoder bool
	}{{"map.png", true}, {"encoder.png", false}} {
		f, err := l.MapFilters(p.decoder)
		if err != nil {
			return written, err
		}
		path := prefix + p.file
		if err := viz.SavePNG(path, viz.Grid(viz.Rows(f, h*w, cfg.Filter*cfg.Filter), cfg.Filter, cfg.Filter, w, viz.GridOptions{Zoom: 2})); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	om, err := l.OrientationMap()
	if err != nil {
		return written, err
	}
	d := om.KaschubeDensity()
	band := om
	if d.Filtered != nil {
		band = d.Filtered
	}
	for _, p := range []struct {
		file   string
		om     *local.OrientationMap
		margin int
	}{{"orientation.png", om, 0}, {"orientation-band.png", band, d.Margin}} {
		path := prefix + p.file
		if err := viz.SavePNG(path, orientationPicture(p.om, 8, p.margin)); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}

// orientationPicture draws an orientation map with cell×cell pixels per unit: hue 2θ, brightness
// the unit's selectivity (scaled so that the 95th percentile is full), and each pinwheel as a dot
// at its plaquette's centre, white for +1, black for −1; margin > 0 frames in grey the plaquettes
// at least margin units from the border, those KaschubeDensity counts.
func orientationPicture(om *local.OrientationMap, cell, margin int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, om.W*cell, om.H*cell))
	s := make([]float32, len(om.Units))
	for i, u := range om.Units {
		s[i] = float32(u.Strength)
	}
	top := viz.Percentile(s, 95, nil)
	for i, u := range om.Units {
		v := 1.0
		if top > 0 {
			v = math.Min(1, u.Strength/top)
		}
		r, col := i/om.W, i%om.W
		fillRect(img, image.Rect(col*cell, r*cell, (col+1)*cell, (r+1)*cell), hueColor(u.Theta/math.Pi, 1, v))
	}
	d := max(1, cell/4)
	for _, p := range om.Pinwheels() {
		pr, pc := p.Centre()
		x, y := int(pc*float64(cell)), int(pr*float64(cell))
		c := color.RGBA{255, 255, 255, 255}
		if p.Sign < 0 {
			c = color.RGBA{0, 0, 0, 255}
		}
		fillRect(img, image.Rect(x-d, y-d, x+d, y+d).Intersect(img.Bounds()), c)
	}
	if margin > 0 && 2*margin < min(om.H, om.W)-1 {
		// The frame runs through the centres of the units margin from the border.
		x0, y0 := (2*margin+1)*cell/2, (2*margin+1)*cell/2
		x1, y1 := (2*(om.W-1-margin)+1)*cell/2, (2*(om.H-1-margin)+1)*cell/2
		grey := color.RGBA{160, 160, 160, 255}
		fillRect(img, image.Rect(x0, y0, x1+1, y0+1), grey)
		fillRect(img, image.Rect(x0, y1, x1+1, y1+1), grey)
		fillRect(img, image.Rect(x0, y0, x0+1, y1+1), grey)
		fillRect(img, image.Rect(x1, y0, x1+1, y1+1), grey)
	}
	return img
}

func fillRect(img *image.RGBA, r image.Rectangle, c color.Color) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.Set(x, y, c)
		}
	}
}

// hueColor converts hue h ∈ [0, 1) (a full turn), saturation s and value v ∈ [0, 1] to a colour.
func hueColor(h, s, v float64) color.RGBA {
	h = 6 * (h - math.Floor(h))
	i := int(h) % 6
	f := h - math.Floor(h)
	p, q, t := v*(1-s), v*(1-s*f), v*(1-s*(1-f))
	var r, g, b float64
	switch i {
	case 0:
		r, g, b = v, t, p
	case 1:
		r, g, b = q, v, p
	case 2:
		r, g, b = p, v, t
	case 3:
		r, g, b = p, q, v
	case 4:
		r, g, b = t, p, v
	default:
		r, g, b = v, p, q
	}
	return color.RGBA{uint8(255*r + 0.5), uint8(255*g + 0.5), uint8(255*b + 0.5), 255}
}
