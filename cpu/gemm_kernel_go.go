package cpu

// kernelGo is the portable micro-kernel, for CPUs without an assembly one.
var kernelGo = &gemmKernel{name: "go 4x4", mr: 4, nr: 4, fn: gemmKernelGo4x4}

// gemmKernelGo4x4: c[i·ldc+j] += α·Σ_{p<k} a[4p+i]·b[4p+j] for i, j < 4.
// Sixteen scalar accumulators stay in registers on machines with enough of them.
func gemmKernelGo4x4(k int, alpha float32, a, b, c []float32, ldc int) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	a, b = a[:4*k], b[:4*k]
	for p := 0; p < 4*k; p += 4 {
		ap, bp := a[p:p+4:p+4], b[p:p+4:p+4]
		a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	r := c[0*ldc : 0*ldc+4 : 0*ldc+4]
	r[0], r[1], r[2], r[3] = r[0]+alpha*c00, r[1]+alpha*c01, r[2]+alpha*c02, r[3]+alpha*c03
	r = c[1*ldc : 1*ldc+4 : 1*ldc+4]
	r[0], r[1], r[2], r[3] = r[0]+alpha*c10, r[1]+alpha*c11, r[2]+alpha*c12, r[3]+alpha*c13
	r = c[2*ldc : 2*ldc+4 : 2*ldc+4]
	r[0], r[1], r[2], r[3] = r[0]+alpha*c20, r[1]+alpha*c21, r[2]+alpha*c22, r[3]+alpha*c23
	r = c[3*ldc : 3*ldc+4 : 3*ldc+4]
	r[0], r[1], r[2], r[3] = r[0]+alpha*c30, r[1]+alpha*c31, r[2]+alpha*c32, r[3]+alpha*c33
}
