package kernels

import (
	"strings"
	"testing"
)

func TestParseBytes(t *testing.T) {
	for s, want := range map[string]int64{"1024": 1024, "512M": 512 << 20, "16G": 16 << 30, "2t": 2 << 40, "8GB": 8 << 30} {
		if got, err := ParseBytes(s); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "0", "-1", "G", "1.5G", "12Q", "99999999999T"} {
		if _, err := ParseBytes(s); err == nil {
			t.Errorf("ParseBytes(%q): no error", s)
		}
	}
}

func TestBudget(t *testing.T) {
	t.Setenv(MemoryEnv, "1K")
	b := NewBudget(1 << 40)
	n, err := b.Take("New", []int{16, 8}) // 512 bytes
	if err != nil || n != 512 {
		t.Fatalf("Take 512 bytes of 1 KiB: %d, %v", n, err)
	}
	if _, err := b.Take("New", []int{200}); err == nil || !strings.Contains(err.Error(), MemoryEnv) || !strings.Contains(err.Error(), "1.0 KiB") {
		t.Errorf("past the cap: %v; want an error naming %s and the limit", err, MemoryEnv)
	}
	if b.Used() != 512 {
		t.Errorf("a refused tensor was counted: used %d", b.Used())
	}
	b.Give(n)
	if _, err := b.Take("New", []int{256}); err != nil {
		t.Errorf("after a Give, a tensor of the whole cap: %v", err)
	}
	t.Setenv(MemoryEnv, "lots")
	if _, err := NewBudget(1<<30).Take("New", []int{1}); err == nil || !strings.Contains(err.Error(), MemoryEnv+`="lots"`) {
		t.Errorf("a bad %s: %v", MemoryEnv, err)
	}
}
