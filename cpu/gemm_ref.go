package cpu

// gemmRef computes C = α·op(A)·op(B) + β·C by the definition, summing in float64: the reference
// the fast path is tested against. op(A) is [m,k], op(B) is [k,n], C is [m,n]; the stored
// matrices are row-major with row strides lda, ldb, ldc (A is stored [k,m] when transA, B [n,k]
// when transB). With β = 0, C is not read; with α = 0, A and B are not read.
func gemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			if alpha != 0 {
				for p := 0; p < k; p++ {
					var aip, bpj float32
					if transA {
						aip = a[p*lda+i]
					} else {
						aip = a[i*lda+p]
					}
					if transB {
						bpj = b[j*ldb+p]
					} else {
						bpj = b[p*ldb+j]
					}
					s += float64(aip) * float64(bpj)
				}
				s *= float64(alpha)
			}
			if beta != 0 {
				s += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(s)
		}
	}
}
