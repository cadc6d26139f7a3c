// Package kerneltest holds what every kernel test shares: seeded random data,
// the normalised-MSE metric, and guard bands that catch writes outside an output.
package kerneltest

import (
	"math"
	"math/rand/v2"
	"testing"
)

// DefaultNMSE is the per-op error limit fast paths are held to against their
// reference (as in ggml's test-backend-ops).
const DefaultNMSE = 1e-7

// Rand returns n values uniform in [-1, 1) from a fixed seed.
func Rand(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.Float64()*2 - 1)
	}
	return out
}

// NMSE is sum((got-want)^2) / sum(want^2), computed in float64.
// A zero reference compares the plain squared error instead.
func NMSE(got, want []float32) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var num, den float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	if math.IsNaN(num) {
		return math.Inf(1)
	}
	if den == 0 {
		return num
	}
	return num / den
}

// CheckNMSE fails t when NMSE(got, want) exceeds limit.
func CheckNMSE(t testing.TB, name string, got, want []float32, limit float64) {
	t.Helper()
	if e := NMSE(got, want); !(e <= limit) {
		t.Errorf("%s: NMSE %.3g > %.3g", name, e, limit)
	}
}

// guardLen is the width of each guard band in elements.
const guardLen = 67

// guardValue is an unusual finite value no kernel produces by accident.
const guardValue = float32(-1234567.5)

// Guarded returns a slice of length n (filled with fill, or zeros when fill is nil)
// that sits inside a larger buffer whose edges hold guard values; pass the
// returned slice to the kernel and call the returned check afterwards.
func Guarded(n int, fill []float32) (inner []float32, check func(t testing.TB)) {
	buf := make([]float32, n+2*guardLen)
	for i := range guardLen {
		buf[i] = guardValue
		buf[n+guardLen+i] = guardValue
	}
	inner = buf[guardLen : guardLen+n : guardLen+n]
	if fill != nil {
		copy(inner, fill)
	}
	return inner, func(t testing.TB) {
		t.Helper()
		for i := range guardLen {
			if buf[i] != guardValue || buf[n+guardLen+i] != guardValue {
				t.Fatalf("write outside the output (guard band touched)")
			}
		}
	}
}

// Panics runs each case as a subtest that fails unless the call panics:
// the kernels' argument checks must stop a bad call before any assembly
// touches memory.
func Panics(t *testing.T, cases map[string]func()) {
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
}

// Unchanged fails t when a differs from its copy b (inputs must stay read-only).
func Unchanged(t testing.TB, name string, a, b []float32) {
	t.Helper()
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("%s: input modified at %d", name, i)
		}
	}
}

// GradCheck compares an analytic float32 gradient grad of loss at v with
// central differences of step h computed in float64. Each element must agree
// within 1e-4 of the largest gradient (at least 1e-3), so a backward pass is
// checked against the forward definition it differentiates.
func GradCheck(t testing.TB, name string, h float64, v []float64, loss func([]float64) float64, grad []float32) {
	t.Helper()
	const tol = 1e-4
	scale := 1e-3
	for _, g := range grad {
		scale = math.Max(scale, math.Abs(float64(g)))
	}
	for i := range v {
		old := v[i]
		v[i] = old + h
		up := loss(v)
		v[i] = old - h
		down := loss(v)
		v[i] = old
		if num := (up - down) / (2 * h); math.Abs(num-float64(grad[i])) > tol*scale {
			t.Fatalf("%s[%d]: analytic %g, numeric %g", name, i, grad[i], num)
		}
	}
}
