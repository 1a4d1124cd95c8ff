package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drsae/drsae/model/local"
)

// TestLocalCommands: train, eval and show a small locally connected model (a 20×20 map); the report
// carries the raw map's figures and the pinwheel density by Kaschube et al.'s procedure.
func TestLocalCommands(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "local.safetensors")
	out := mustRun(t, "train", "local", "--patch", "24", "--filter", "6", "--stride", "2", "--site", "2",
		"--train-size", "300", "--test-size", "50", "--epochs", "1", "--quiet", "--out", m)
	expect(t, "train local", out, "local train epoch 1/1", "map 20×20 units", "spectrum's peak",
		"pinwheel density by Kaschube et al.'s procedure", "plaquettes ≥ ", "pinwheels per Λ² (cortex: π ≈ 3.14)", "random phases (10 surrogates")
	expect(t, "eval local", mustRun(t, "eval", "--model", m), "orientation difference of map neighbours", "Fermi band-pass 0.45Λ–1.75Λ")
	mustRun(t, "show", "--model", m)
	for _, p := range []string{"map.png", "encoder.png", "orientation.png", "orientation-band.png"} {
		if fi, err := os.Stat(filepath.Join(dir, "local-"+p)); err != nil || fi.Size() == 0 {
			t.Errorf("show did not write %s: %v", p, err)
		}
	}
}

// TestLocalSurround: --surround and its ring reach the saved config, and the report prints the
// term with its settings.
func TestLocalSurround(t *testing.T) {
	m := filepath.Join(t.TempDir(), "ring.safetensors")
	mustRun(t, "train", "local", "--patch", "24", "--filter", "6", "--stride", "2", "--site", "2",
		"--train-size", "300", "--test-size", "50", "--epochs", "1", "--quiet",
		"--surround", "5", "--surround-radius", "3", "--surround-sigma", "1", "--out", m)
	expect(t, "eval local", mustRun(t, "eval", "--model", m), "surround inhibition ½ΣK_uv z_u z_v = ",
		"(μ = 5, ring R = 3, σ = 1 units; in the loss)")
}

// TestLocalOrientationPrior: the band kernel and the orientation prior reach the saved config,
// and the report prints both terms with their settings.
func TestLocalOrientationPrior(t *testing.T) {
	m := filepath.Join(t.TempDir(), "prior.safetensors")
	mustRun(t, "train", "local", "--patch", "24", "--filter", "6", "--stride", "2", "--site", "2",
		"--train-size", "300", "--test-size", "50", "--epochs", "1", "--quiet", "--surround", "2",
		"--surround-wavelength", "5", "--orientation-prior", "0.1", "--orientation-wavelength", "6", "--out", m)
	expect(t, "eval local", mustRun(t, "eval", "--model", m), "(μ = 2, band kernel of wavelength 5 units; in the loss)",
		"orientation prior −½ν ΣJ_uv Re(o_u ō_v) = ", "(ν = 0.1, wavelength 6 units; in the loss)")
}

// TestPrintDensityWithoutPlaquettes: a column spacing too long for the map leaves no plaquette to
// count; the report says so instead of a density of 0.
func TestPrintDensityWithoutPlaquettes(t *testing.T) {
	var b strings.Builder
	old := stdout
	stdout = &b
	defer func() { stdout = old }()
	if printDensity(local.PinwheelDensity{Lambda: 56, Margin: 56}) {
		t.Error("printDensity reported a density with no plaquette counted")
	}
	expect(t, "the report", b.String(), "no plaquette of the map lies ≥ 56 units from its border; no density")
	if strings.Contains(b.String(), "0.00 pinwheels per Λ²") {
		t.Errorf("the report gives a density: %s", b.String())
	}
}
