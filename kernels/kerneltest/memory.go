package kerneltest

import (
	"fmt"
	"math"
	"slices"
)

// testMemory: Info, New (zero-filled, shapes), Upload/Download (bit exact, special values), Copy,
// Reshape (a view sharing storage), Sync, Free.
func testMemory(s *suite) {
	s.run("Info", false, func(c *tc) {
		info := c.b.Info()
		if info.Name == "" {
			c.t.Errorf("Info %s: empty Name", c.name)
		}
		if info.MaxBytes < 0 {
			c.t.Errorf("Info %s: MaxBytes %d < 0", c.name, info.MaxBytes)
		}
		c.t.Logf("%+v", info)
	})

	shapes := [][]int{{1}, {7}, {3, 5}, {1, 1, 1}, {2, 3, 4, 5}, {33, 257}, {2, 3, 4, 5, 6, 7}}
	for _, shape := range shapes {
		s.run(fmt.Sprintf("New%v", shape), false, func(c *tc) {
			t := c.alloc(shape...)
			if !slices.Equal(t.Shape(), shape) {
				c.t.Errorf("New %s: Shape() = %v, want %v", c.name, t.Shape(), shape)
			}
			if t.Len() != volume(shape) {
				c.t.Errorf("New %s: Len() = %d, want %d", c.name, t.Len(), volume(shape))
			}
			for i, v := range c.get(t) {
				if v != 0 {
					c.t.Errorf("New %s: element %s = %v, want 0 (New zero-fills)", c.name, coords(shape, i), v)
					break
				}
			}
		})
	}

	for _, n := range []int{1, 7, 33, 1000, 65536 + 3} {
		s.run(fmt.Sprintf("UploadDownload/%d", n), false, func(c *tc) {
			data := c.normal(n, 1)
			special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, math.MaxFloat32, -math.MaxFloat32,
				math.SmallestNonzeroFloat32, 0x1p-130, float32(math.Inf(1)), float32(math.Inf(-1)), sentinelNaN}
			copy(data, special)
			t := c.in("t", data, n)
			// in uploaded; settle downloads and compares bit for bit.
			c.settle("Upload/Download")
			// A second upload replaces the whole contents.
			data2 := c.normal(n, 3)
			c.b.Upload(t, data2)
			c.ins[0].data = data2
			c.settle("Upload/Download")
		})
	}

	s.run("Copy", false, func(c *tc) {
		src := c.normal(30, 1)
		st := c.in("src", src, 6, 5)
		dt := c.out("dst", nil, 30)
		c.b.Copy(dt, st)
		c.settle("Copy")
		c.expect("Copy", "dst", dt, f64(src), nil, tol{})
		// Copy over existing contents, other shapes of the same length.
		d2 := c.out("dst2", c.normal(30, 5), 2, 3, 5)
		c.b.Copy(d2, st)
		c.settle("Copy")
		c.expect("Copy", "dst2", d2, f64(src), nil, tol{})
	})

	s.run("Reshape", false, func(c *tc) {
		data := c.normal(30, 1)
		t := c.alloc(6, 5)
		v := c.b.Reshape(t, 3, 2, 5)
		if !slices.Equal(v.Shape(), []int{3, 2, 5}) || v.Len() != 30 {
			c.t.Errorf("Reshape %s: view has shape %v and length %d, want [3 2 5] and 30", c.name, v.Shape(), v.Len())
		}
		if !slices.Equal(t.Shape(), []int{6, 5}) {
			c.t.Errorf("Reshape %s: the original's shape changed to %v", c.name, t.Shape())
		}
		// Writes through either handle are seen through the other.
		c.b.Upload(t, data)
		c.compare("Reshape", "view after Upload to the original", v.Shape(), c.get(v), f64(data), nil, tol{})
		c.b.Fill(v, 2.5)
		c.compare("Reshape", "original after Fill of the view", t.Shape(), c.get(t), f64(filled(30, 2.5)), nil, tol{})
		// An op reading a view.
		dst := c.out("dst", nil, 30)
		c.b.Hadamard(dst, c.b.Reshape(t, 30), c.b.Reshape(v, 30))
		c.settle("Hadamard")
		c.expect("Hadamard (views)", "dst", dst, f64(filled(30, 6.25)), nil, tol{})
	})

	s.run("SyncFree", false, func(c *tc) {
		if err := c.b.Sync(); err != nil {
			c.t.Fatalf("Sync %s: %v", c.name, err)
		}
		for i := 0; i < 20; i++ {
			t, err := c.b.New(257, 33)
			if err != nil {
				c.t.Fatalf("New %s: %v", c.name, err)
			}
			c.b.Fill(t, float32(i))
			c.b.Free(t)
		}
		t := c.alloc(257, 33)
		c.b.Fill(t, 1)
		if err := c.b.Sync(); err != nil {
			c.t.Fatalf("Sync %s: %v", c.name, err)
		}
		c.compare("Fill", "t after reuse", t.Shape(), c.get(t), f64(filled(t.Len(), 1)), nil, tol{})
	})
}
