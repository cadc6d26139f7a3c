//go:build !purego

package ops

import "golang.org/x/sys/cpu"

// fastPlanes are the batch-norm passes this CPU runs: the AVX-512 or AVX2
// kernels on whole vectors of each plane and the generic loops on the rest
// (x/sys/cpu honours GODEBUG=cpu.avx512f=off).
var fastPlanes = func() bnPlanes {
	switch {
	case cpu.X86.HasAVX512F:
		return avx512Planes.planes()
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return avx2Planes.planes()
	}
	return refPlanes
}()

// bnKernels are one instruction set's batch-norm kernels, which take whole
// vectors of lanes floats.
type bnKernels struct {
	lanes     int
	sum       func(x *float32, n int) float64
	sqDev     func(x *float32, n int, m float64) float64
	apply     func(y, x *float32, n int, m, s, b float32, relu bool)
	gradSums  func(dy, x, y *float32, n int, m float64, sums *[2]float64)
	gradApply func(dx, dy, x, y *float32, n int, k, a, b, m float32)
}

var (
	avx512Planes = bnKernels{16, sumF64AVX512, sqDevF64AVX512, bnApplyAVX512, bnBackwardSumsAVX512, bnBackwardApplyAVX512}
	avx2Planes   = bnKernels{8, sumF64AVX2, sqDevF64AVX2, bnApplyAVX2, bnBackwardSumsAVX2, bnBackwardApplyAVX2}
)

// planes wraps the kernels: each runs on the plane's whole vectors, the
// generic loop on the rest.
func (k bnKernels) planes() bnPlanes {
	whole := func(n int) int { return n &^ (k.lanes - 1) }
	return bnPlanes{
		sum: func(x []float32) float64 {
			n := whole(len(x))
			var s float64
			if n > 0 {
				s = k.sum(&x[0], n)
			}
			return s + sumF64Generic(x[n:])
		},
		sqDev: func(x []float32, m float64) float64 {
			n := whole(len(x))
			var s float64
			if n > 0 {
				s = k.sqDev(&x[0], n, m)
			}
			return s + sqDevF64Generic(x[n:], m)
		},
		apply: func(y, x []float32, m, s, b float32, relu bool) {
			n := whole(len(x))
			if n > 0 {
				_ = y[n-1]
				k.apply(&y[0], &x[0], n, m, s, b, relu)
			}
			bnApplyGeneric(y[n:], x[n:], m, s, b, relu)
		},
		gradSums: func(dy, x, y []float32, m float64, sums *[2]float64) {
			n := whole(len(dy))
			if n > 0 {
				_ = x[n-1]
				k.gradSums(&dy[0], &x[0], firstOrNil(y, n), n, m, sums)
			}
			bnGradSumsGeneric(dy[n:], x[n:], tailOrNil(y, n), m, sums)
		},
		gradApply: func(dx, dy, x, y []float32, ka, a, b, m float32) {
			n := whole(len(dy))
			if n > 0 {
				_, _ = dx[n-1], x[n-1]
				k.gradApply(&dx[0], &dy[0], &x[0], firstOrNil(y, n), n, ka, a, b, m)
			}
			bnGradApplyGeneric(dx[n:], dy[n:], x[n:], tailOrNil(y, n), ka, a, b, m)
		},
	}
}

// firstOrNil points at y's first element, checking it holds n, or is nil
// for a nil y (no ReLU mask).
func firstOrNil(y []float32, n int) *float32 {
	if y == nil {
		return nil
	}
	_ = y[n-1]
	return &y[0]
}

func tailOrNil(y []float32, n int) []float32 {
	if y == nil {
		return nil
	}
	return y[n:]
}
