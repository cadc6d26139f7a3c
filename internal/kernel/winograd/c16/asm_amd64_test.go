//go:build !purego

package c16

import (
	"fmt"
	"math"
	"testing"

	"github.com/dla-go/dla/internal/kernel/kerneltest"
)

// kernels are the assembly tiers, each with whether this CPU runs it.
var kernels = []struct {
	name     string
	ok       bool
	input    func(src *float32, pitch int, v *float32, n int)
	multiply func(v *float32, u *float32)
	output   func(v *float32, n int, dst *float32, pitch int, shift *float32, floor float32)
}{
	{"avx512", avx512, inputAVX512, multiplyAVX512, outputAVX512},
	{"avx2", avx2 || avx512, inputAVX2, multiplyAVX2, outputAVX2},
}

// The assembly kernels match their Go definitions on every tile count and
// odd pitches, and write nothing else.
func TestKernelsMatchGeneric(t *testing.T) {
	for _, k := range kernels {
		t.Run(k.name, func(t *testing.T) {
			if !k.ok {
				t.Skip("not on this CPU")
			}
			testKernels(t, k.input, k.multiply, k.output)
		})
	}
}

func testKernels(t *testing.T, input func(*float32, int, *float32, int), multiply func(*float32, *float32), output func(*float32, int, *float32, int, *float32, float32)) {
	for n := 1; n <= Group; n++ {
		for _, pitch := range []int{96, 113, 16 * 58} {
			name := fmt.Sprintf("n=%d pitch=%d", n, pitch)
			src := kerneltest.Rand((n-1)*64+5*pitch+96, uint64(n))
			got, want := kerneltest.Rand(VLen, 7), kerneltest.Rand(VLen, 7)
			input(&src[0], pitch, &got[0], n)
			inputGeneric(src, pitch, want, n)
			kerneltest.CheckNMSE(t, name+" input", got, want, 1e-12)

			u := kerneltest.Rand(ULen, 3)
			want = append([]float32(nil), got...)
			multiply(&got[0], &u[0])
			multiplyGeneric(want, u)
			kerneltest.CheckNMSE(t, name+" multiply", got, want, 1e-12)

			shift := kerneltest.Rand(16, 4)
			size := (n-1)*64 + 3*pitch + 64
			dst, check := kerneltest.Guarded(size, kerneltest.Rand(size, 5))
			wantDst := kerneltest.Rand(size, 5)
			floor := float32(0)
			if n%2 == 0 {
				floor = float32(math.Inf(-1))
			}
			output(&got[0], n, &dst[0], pitch, &shift[0], floor)
			outputGeneric(got, n, wantDst, pitch, shift, floor)
			check(t)
			kerneltest.CheckNMSE(t, name+" output", dst, wantDst, 1e-12)
		}
	}
	// A NaN in output channel 5's filter at position (1, 1), which every
	// output pixel of a tile uses, becomes the floor, 0, in all of that
	// channel's pixels, where the Go definitions keep the NaN.
	const n, pitch = 3, 16 * 14
	src := kerneltest.Rand((n-1)*64+5*pitch+96, 11)
	u := kerneltest.Rand(ULen, 12)
	u[7*256+3*16+5] = float32(math.NaN())
	shift := kerneltest.Rand(16, 13)
	v, vWant := make([]float32, VLen), make([]float32, VLen)
	input(&src[0], pitch, &v[0], n)
	inputGeneric(src, pitch, vWant, n)
	multiply(&v[0], &u[0])
	multiplyGeneric(vWant, u)
	size := (n-1)*64 + 3*pitch + 64
	got, want := make([]float32, size), make([]float32, size)
	output(&v[0], n, &got[0], pitch, &shift[0], 0)
	outputGeneric(vWant, n, want, pitch, shift, 0)
	for i, w := range want {
		if math.IsNaN(float64(w)) {
			if i%16 != 5 {
				t.Fatalf("definition: output %d NaN", i)
			}
			want[i] = 0
		}
	}
	kerneltest.CheckNMSE(t, "a NaN in the filter", got, want, 1e-12)
}
