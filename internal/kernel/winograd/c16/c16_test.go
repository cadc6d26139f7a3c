package c16

import (
	"fmt"
	"math"
	"testing"

	"github.com/dla-go/dla/internal/kernel/kerneltest"
)

// convolve runs a whole convolution of a 16-channel interleaved image
// (h x w, padded by one pixel, rounded up to whole tiles with zeros) the way
// a caller does, with the given kernels, and returns the h x w output.
func convolve(x []float32, h, w int, u, shift []float32, floor float32,
	in func([]float32, int, []float32, int), mul func([]float32, []float32), out func([]float32, int, []float32, int, []float32, float32)) []float32 {
	th, tw := (h+3)/4, (w+3)/4
	pitch := 16 * (4*tw + 2)
	src := make([]float32, (4*th+2)*pitch)
	for r := range h {
		copy(src[(r+1)*pitch+16:], x[r*16*w:(r+1)*16*w])
	}
	opitch := 16 * 4 * tw
	dst := make([]float32, 4*th*opitch)
	v := kerneltest.Rand(VLen, 99) // stale
	for tr := range th {
		for t0 := 0; t0 < tw; t0 += Group {
			n := min(Group, tw-t0)
			in(src[4*tr*pitch+64*t0:], pitch, v, n)
			mul(v, u)
			out(v, n, dst[4*tr*opitch+64*t0:], opitch, shift, floor)
		}
	}
	y := make([]float32, h*w*16)
	for r := range h {
		copy(y[r*16*w:(r+1)*16*w], dst[r*opitch:])
	}
	return y
}

// direct is the definition: a 3x3, pad 1 convolution in float64.
func direct(x []float32, h, w int, wt, shift []float32, floor float32) []float32 {
	y := make([]float32, h*w*16)
	for oh := range h {
		for ow := range w {
			for k := range 16 {
				s := float64(shift[k])
				for c := range 16 {
					for r := range 3 {
						for q := range 3 {
							ih, iw := oh+r-1, ow+q-1
							if ih >= 0 && ih < h && iw >= 0 && iw < w {
								s += float64(wt[((k*16+c)*3+r)*3+q]) * float64(x[(ih*w+iw)*16+c])
							}
						}
					}
				}
				y[(oh*w+ow)*16+k] = max(float32(s), floor)
			}
		}
	}
	return y
}

// The transforms and products compose to the convolution, in Go and (where
// it runs) in assembly, on images of whole and partial tiles and groups.
func TestConvolutionMatchesDirect(t *testing.T) {
	for i, hw := range [][2]int{{8, 12}, {5, 3}, {1, 1}, {9, 37}, {13, 70}} {
		h, w := hw[0], hw[1]
		x := kerneltest.Rand(h*w*16, uint64(i))
		wt := kerneltest.Rand(16*16*9, uint64(i)+10)
		shift := kerneltest.Rand(16, uint64(i)+20)
		floor := float32(math.Inf(-1))
		if i%2 == 0 {
			floor = 0
		}
		want := direct(x, h, w, wt, shift, floor)
		u := PackFilter(wt)
		name := fmt.Sprintf("%dx%d", h, w)
		kerneltest.CheckNMSE(t, name+" Go", convolve(x, h, w, u, shift, floor, inputGeneric, multiplyGeneric, outputGeneric), want, kerneltest.DefaultNMSE)
		kerneltest.CheckNMSE(t, name, convolve(x, h, w, u, shift, floor, Input, Multiply, Output), want, kerneltest.DefaultNMSE)
	}
}

// Short buffers panic before any kernel touches them.
func TestBoundsChecked(t *testing.T) {
	kerneltest.Panics(t, map[string]func(){
		"input src":    func() { Input(make([]float32, 5*96+95), 96, make([]float32, VLen), 1) },
		"input v":      func() { Input(make([]float32, 5*96+96), 96, make([]float32, 35*step+15), 1) },
		"input n":      func() { Input(make([]float32, 1<<14), 96, make([]float32, VLen), Group+1) },
		"multiply":     func() { Multiply(make([]float32, VLen-1), make([]float32, ULen)) },
		"output dst":   func() { Output(make([]float32, VLen), 2, make([]float32, 64+3*64+63), 64, make([]float32, 16), 0) },
		"output shift": func() { Output(make([]float32, VLen), 1, make([]float32, 4*64), 64, make([]float32, 15), 0) },
		"filter":       func() { PackFilter(make([]float32, 16*16*9-1)) },
	})
}

// BenchmarkLayer224 runs the stem's 3x3 16->16 layer at 224x224 on one core
// (GFLOP/s counted as the direct convolution's arithmetic):
//
//	go test -run '^$' -bench Layer224 ./internal/kernel/winograd/c16/
func BenchmarkLayer224(b *testing.B) {
	const h, w = 224, 224
	pitch, opitch := 16*(w+2), 16*w
	src := kerneltest.Rand((h+2)*pitch+64, 1)
	dst := make([]float32, h*opitch)
	u := PackFilter(kerneltest.Rand(16*16*9, 2))
	shift := make([]float32, 16)
	v := make([]float32, VLen)
	for b.Loop() {
		for tr := range h / 4 {
			for t0 := 0; t0 < w/4; t0 += Group {
				n := min(Group, w/4-t0)
				Input(src[4*tr*pitch+64*t0:], pitch, v, n)
				Multiply(v, u)
				Output(v, n, dst[4*tr*opitch+64*t0:], opitch, shift, 0)
			}
		}
	}
	b.ReportMetric(2*16*16*9*h*w*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
