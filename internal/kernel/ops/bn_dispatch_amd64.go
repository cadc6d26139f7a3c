//go:build !purego

package ops

import "golang.org/x/sys/cpu"

// fastPlanes runs the AVX-512 batch-norm kernels on whole vectors of each
// plane and the generic loops on the rest, where the CPU has AVX-512.
var fastPlanes = func() bnPlanes {
	if !cpu.X86.HasAVX512F {
		return refPlanes
	}
	return bnPlanes{sumF64Fast, sqDevF64Fast, bnApplyFast, bnGradSumsFast, bnGradApplyFast}
}()

func sumF64Fast(x []float32) float64 {
	n := len(x) &^ 15
	var s float64
	if n > 0 {
		s = sumF64AVX512(&x[0], n)
	}
	return s + sumF64Generic(x[n:])
}

func sqDevF64Fast(x []float32, m float64) float64 {
	n := len(x) &^ 15
	var s float64
	if n > 0 {
		s = sqDevF64AVX512(&x[0], n, m)
	}
	return s + sqDevF64Generic(x[n:], m)
}

func bnApplyFast(y, x []float32, m, s, b float32, relu bool) {
	n := len(x) &^ 15
	if n > 0 {
		_ = y[n-1]
		bnApplyAVX512(&y[0], &x[0], n, m, s, b, relu)
	}
	bnApplyGeneric(y[n:], x[n:], m, s, b, relu)
}

func bnGradSumsFast(dy, x, y []float32, m float64, sums *[2]float64) {
	n := len(dy) &^ 15
	if n > 0 {
		_ = x[n-1]
		bnBackwardSumsAVX512(&dy[0], &x[0], firstOrNil(y, n), n, m, sums)
	}
	bnGradSumsGeneric(dy[n:], x[n:], tailOrNil(y, n), m, sums)
}

func bnGradApplyFast(dx, dy, x, y []float32, k, a, b, m float32) {
	n := len(dy) &^ 15
	if n > 0 {
		_, _ = dx[n-1], x[n-1]
		bnBackwardApplyAVX512(&dx[0], &dy[0], &x[0], firstOrNil(y, n), n, k, a, b, m)
	}
	bnGradApplyGeneric(dx[n:], dy[n:], x[n:], tailOrNil(y, n), k, a, b, m)
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
