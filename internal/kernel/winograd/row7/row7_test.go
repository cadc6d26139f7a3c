package row7

import (
	"fmt"
	"math"
	"testing"

	"github.com/dla-go/dla/internal/kernel/kerneltest"
)

// convolve runs a whole convolution of c planar h x w input planes the way a
// caller does, with the given kernels, and returns the h x w x 16
// interleaved output.
func convolve(x []float32, c, h, w int, u, shift []float32, floor float32,
	in func([]float32, []float32, int), mul func(int, []float32, int, int, []float32, []float32, int, []float32, float32)) []float32 {
	tiles := (w + M - 1) / M
	blocks := (tiles + Block - 1) / Block
	tChan := blocks * BlockLen
	pitch := M*Block*blocks + Points // zero-padded row: 3 zeros, the row, zeros
	t := make([]float32, (h+6+Rows-1)*c*tChan)
	row := make([]float32, pitch)
	for r := range h + 6 {
		for ch := range c {
			clear(row)
			if ih := r - 3; ih >= 0 && ih < h {
				copy(row[3:], x[(ch*h+ih)*w:][:w])
			}
			in(row, t[(r*c+ch)*tChan:], blocks)
		}
	}
	yRow := 16 * M * tiles
	out := make([]float32, (h+Rows-1)*yRow)
	for oh := 0; oh < h; oh += Rows {
		for b := range blocks {
			n := min(Block, tiles-Block*b)
			mul(n, t[oh*c*tChan+b*BlockLen:], tChan, c, u, out[oh*yRow+16*M*Block*b:], yRow, shift, floor)
		}
	}
	y := make([]float32, h*w*16)
	for r := range h {
		copy(y[r*w*16:(r+1)*w*16], out[r*yRow:])
	}
	return y
}

// direct is the definition: a 7x7, pad 3 convolution in float64, output
// interleaved.
func direct(x []float32, c, h, w int, wt, shift []float32, floor float32) []float32 {
	y := make([]float32, h*w*16)
	for oh := range h {
		for ow := range w {
			for k := range 16 {
				s := float64(shift[k])
				for ch := range c {
					for r := range 7 {
						for q := range 7 {
							ih, iw := oh+r-3, ow+q-3
							if ih >= 0 && ih < h && iw >= 0 && iw < w {
								s += float64(wt[((k*c+ch)*7+r)*7+q]) * float64(x[(ch*h+ih)*w+iw])
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

// The transforms compose to the convolution, in Go and (where it runs) in
// assembly, on whole and partial tiles, blocks and row groups.
func TestConvolutionMatchesDirect(t *testing.T) {
	for i, s := range [][3]int{{3, 9, 12}, {3, 5, 70}, {1, 1, 1}, {2, 8, 3}, {3, 4, 67}} {
		c, h, w := s[0], s[1], s[2]
		x := kerneltest.Rand(c*h*w, uint64(i))
		for j := range x {
			x[j] *= 2 // normalised pixels reach about ±2.6
		}
		wt := kerneltest.Rand(16*c*49, uint64(i)+10)
		shift := kerneltest.Rand(16, uint64(i)+20)
		floor := float32(math.Inf(-1))
		if i%2 == 0 {
			floor = 0
		}
		want := direct(x, c, h, w, wt, shift, floor)
		u := PackFilter(wt, c)
		name := fmt.Sprintf("%dx%dx%d", c, h, w)
		kerneltest.CheckNMSE(t, name+" Go", convolve(x, c, h, w, u, shift, floor, inputGeneric, multiplyGeneric), want, kerneltest.DefaultNMSE)
		kerneltest.CheckNMSE(t, name, convolve(x, c, h, w, u, shift, floor, Input, Multiply), want, kerneltest.DefaultNMSE)
	}
}

// The transform matrices are those of F(2, 7): B^T's row for point 0 is the
// coefficients of (x^2-1)(x^2-4)(x^2-1/4), A^T's last row picks infinity,
// and G's row for infinity the last tap.
func TestTransforms(t *testing.T) {
	want := []float32{-1, 0, 5.25, 0, -5.25, 0, 1, 0}
	for l, v := range want {
		if bt[l] != v {
			t.Errorf("B^T[0][%d] = %v, want %v", l, bt[l], v)
		}
	}
	if at[M-1][Points-1] != 1 || at[0][Points-1] != 0 || g[Points-1][6] != 1 || g[Points-1][0] != 0 {
		t.Error("infinity's rows are wrong")
	}
}

// Short buffers panic before any kernel touches them.
func TestBoundsChecked(t *testing.T) {
	u := make([]float32, ULen(3))
	kerneltest.Panics(t, map[string]func(){
		"input row": func() { Input(make([]float32, M*Block-M+Points-1), make([]float32, BlockLen), 1) },
		"input t":   func() { Input(make([]float32, M*Block-M+Points), make([]float32, BlockLen-1), 1) },
		"multiply t": func() {
			Multiply(1, make([]float32, (8*3+2)*BlockLen+16*(Points-1)), BlockLen, 3, u, make([]float32, 3*16*M), 16*M, make([]float32, 16), 0)
		},
		"multiply y": func() {
			Multiply(2, make([]float32, 27*BlockLen), BlockLen, 3, u, make([]float32, 2*32*M+32*M-1), 32*M, make([]float32, 16), 0)
		},
		"multiply n": func() {
			Multiply(Block+1, make([]float32, 1<<16), BlockLen, 3, u, make([]float32, 1<<16), 16*M*(Block+1), make([]float32, 16), 0)
		},
		"filter": func() { PackFilter(make([]float32, 16*3*49-1), 3) },
	})
}

// BenchmarkLayer224 runs DLA's first layer (7x7, 3 -> 16 at 224x224) on one
// core, both passes (GFLOP/s counted as the direct convolution's
// arithmetic):
//
//	go test -run '^$' -bench Layer224 ./internal/kernel/winograd/row7/
func BenchmarkLayer224(b *testing.B) {
	const c, h, w = 3, 224, 224
	const tiles, blocks = w / M, (w/M + Block - 1) / Block
	const tChan, pitch, yRow = blocks * BlockLen, M*Block*blocks + Points, 16 * M * tiles
	rows := kerneltest.Rand((h+6)*c*pitch, 1)
	t := make([]float32, (h+6+Rows-1)*c*tChan)
	u := PackFilter(kerneltest.Rand(16*c*49, 2), c)
	y := make([]float32, (h+Rows-1)*yRow)
	shift := make([]float32, 16)
	for b.Loop() {
		for r := range (h + 6) * c {
			Input(rows[r*pitch:], t[r*tChan:], blocks)
		}
		for oh := 0; oh < h; oh += Rows {
			for blk := range blocks {
				n := min(Block, tiles-Block*blk)
				Multiply(n, t[oh*c*tChan+blk*BlockLen:], tChan, c, u, y[oh*yRow+16*M*Block*blk:], yRow, shift, 0)
			}
		}
	}
	b.ReportMetric(2*16*c*49*h*w*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
