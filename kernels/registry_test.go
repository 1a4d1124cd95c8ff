package kernels

import (
	"errors"
	"strings"
	"testing"
)

// fakeBackend answers Info and Close; any other op would panic on the nil embedded interface.
type fakeBackend struct {
	Backend
	info   Info
	closed *int
}

func (f fakeBackend) Info() Info   { return f.info }
func (f fakeBackend) Close() error { *f.closed++; return nil }

func withRegistry(t *testing.T) {
	saved, savedPref := registry, preference
	registry, preference = map[string]Opener{}, map[string]int{}
	t.Cleanup(func() { registry, preference = saved, savedPref })
	t.Setenv("DRSAE_BACKEND", "")
}

func TestOpenAutoPrefersHardware(t *testing.T) {
	withRegistry(t)
	closed := 0
	Register("slow", 0, func() (Backend, error) { return fakeBackend{info: Info{Name: "slow"}, closed: &closed}, nil })
	Register("soft", 10, func() (Backend, error) {
		return fakeBackend{info: Info{Name: "soft", Device: "llvmpipe", Software: true}, closed: &closed}, nil
	})
	Register("broken", 20, func() (Backend, error) { return nil, errors.New("no device") })

	if got := strings.Join(Names(), ","); got != "broken,soft,slow" {
		t.Fatalf("Names() = %s, want by priority", got)
	}
	b, err := Open("auto")
	if err != nil || b.Info().Name != "slow" {
		t.Fatalf(`Open("auto") = %v, %v; want the hardware backend "slow"`, b, err)
	}
	if closed != 1 {
		t.Errorf("the software backend was closed %d times, want 1", closed)
	}
	if b, err := Open("soft"); err != nil || !b.Info().Software {
		t.Errorf(`Open("soft") by name = %v, %v; want the software backend`, b, err)
	}
	if _, err := Open("nope"); err == nil || !strings.Contains(err.Error(), `unknown backend "nope"`) {
		t.Errorf(`Open("nope") error = %v`, err)
	}
	t.Setenv("DRSAE_BACKEND", "soft")
	if b, err := Open("auto"); err != nil || b.Info().Name != "soft" {
		t.Errorf("DRSAE_BACKEND=soft: Open(auto) = %v, %v", b, err)
	}
}

func TestOpenAutoNothingOpens(t *testing.T) {
	withRegistry(t)
	Register("broken", 1, func() (Backend, error) { return nil, errors.New("no device") })
	_, err := Open("")
	if err == nil || !strings.Contains(err.Error(), "broken: no device") {
		t.Fatalf("error = %v, want the reason of each backend", err)
	}
}
