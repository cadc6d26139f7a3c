// Package sgemm multiplies float32 matrices: C = alpha*op(A)*op(B) + beta*C,
// row-major, GotoBLAS-style (packed panels, cache blocking, a register-tiled
// micro-kernel), split over the cores with parallel.For.
//
// The micro-kernel is chosen once at start-up: AVX-512, AVX2+FMA or pure Go
// (the `purego` build tag removes all assembly). SgemmRef is the plain triple
// loop that defines the correct result.
package sgemm

import "github.com/dla-go/dla/internal/kernel/parallel"

// Argument errors are programmer errors: the kernels panic with these.
const (
	errShape = "sgemm: negative dimension"
	errLda   = "sgemm: lda too small"
	errLdb   = "sgemm: ldb too small"
	errLdc   = "sgemm: ldc too small"
	errLenA  = "sgemm: a too short"
	errLenB  = "sgemm: b too short"
	errLenC  = "sgemm: c too short"
)

// Sgemm computes C = alpha*op(A)*op(B) + beta*C, row-major; op(X) = X or X^T.
// A is m x k (or k x m if transA), B is k x n (or n x k if transB), C is m x n;
// ld* are row strides. With beta == 0, C is not read (NaNs in it are ignored).
// C must not overlap A or B.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	v := active.Load()
	pa := getBuf(packedALen(v, m, k))
	packA(v, pa.s, transA, m, k, alpha, a, lda)
	run(v, m, n, k, pa.s, transB, b, ldb, beta, c, ldc, nil)
	putBuf(pa)
}

// SgemmRef is Sgemm as a plain triple loop, accumulated in float64: the
// definition of the correct result.
func SgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				var x, y float32
				if transA {
					x = a[p*lda+i]
				} else {
					x = a[i*lda+p]
				}
				if transB {
					y = b[j*ldb+p]
				} else {
					y = b[p*ldb+j]
				}
				s += float64(x) * float64(y)
			}
			v := float32(float64(alpha) * s)
			if beta != 0 {
				v += beta * c[i*ldc+j]
			}
			c[i*ldc+j] = v
		}
	}
}

func checkArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(errShape)
	}
	checkMatrix(transA, m, k, a, lda, errLda, errLenA)
	checkMatrix(transB, k, n, b, ldb, errLdb, errLenB)
	checkMatrix(false, m, n, c, ldc, errLdc, errLenC)
}

// checkMatrix checks an r x c matrix (stored c x r when trans) with stride ld.
func checkMatrix(trans bool, r, c int, x []float32, ld int, errLd, errLen string) {
	if trans {
		r, c = c, r
	}
	if ld < max(1, c) {
		panic(errLd)
	}
	if r > 0 && c > 0 && len(x) < (r-1)*ld+c {
		panic(errLen)
	}
}

// scaleC sets C = beta*C, writing zeros (not beta*NaN) when beta == 0.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// run computes C = Apacked*op(B) + beta*C and applies epi, splitting C into
// MC x NC blocks that the workers take one at a time.
func run(v *variant, m, n, k int, pa []float32, transB bool, b []float32, ldb int, beta float32, c []float32, ldc int, epi *Epilogue) {
	p := v.p
	mb := roundUp(min(p.MC, m), p.MR)
	nb := roundUp(min(p.NC, n), p.NR)
	// Enough blocks that a worker slowed by other load does not hold up the
	// rest, but none so small that packing and scheduling dominate; one
	// worker needs no split.
	want := 1
	if w := parallel.Workers(); w > 1 {
		want = min(4*w, max(1, int(2*float64(m)*float64(n)*float64(k)/minTaskFlops)))
	}
	for ceilDiv(m, mb)*ceilDiv(n, nb) < want {
		switch {
		case nb >= 2*minTaskCols && nb >= mb:
			nb = roundUp(nb/2, p.NR)
		case mb >= 2*p.MR:
			mb = roundUp(mb/2, p.MR)
		case nb >= 2*p.NR:
			nb = roundUp(nb/2, p.NR)
		default:
			want = 0
		}
	}
	j := getJob()
	*j = job{
		v: v, m: m, n: n, k: k, pa: pa, transB: transB, b: b, ldb: ldb,
		beta: beta, c: c, ldc: ldc, epi: epi,
		mb: mb, nb: nb, colBlocks: ceilDiv(n, nb),
	}
	parallel.Run(ceilDiv(m, mb)*j.colBlocks, 1, j)
	putJob(j)
}

const (
	minTaskFlops = 1 << 21 // about 20 µs of work on one core
	minTaskCols  = 64
)

func roundUp(x, to int) int { return (x + to - 1) / to * to }
func ceilDiv(x, y int) int  { return (x + y - 1) / y }
