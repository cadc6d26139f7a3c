package conv

import (
	"fmt"
	"math"
	"testing"

	"github.com/dla-go/dla/internal/kernel/kerneltest"
)

// TestTileKernel holds the dispatched tile kernel (assembly when available)
// to tileGeneric on random taps, offsets, masks, epilogues and vector steps
// (16: one output row; 21: a vector per row of a 21-wide output).
func TestTileKernel(t *testing.T) {
	for _, c := range [][2]int{{4, 1}, {8, 1}, {4, 2}, {8, 2}} {
		mr, step := c[0], c[1]
		nr := tileNR(mr)
		for i, taps := range []int{1, 2, 9, 36, 147} {
			x := kerneltest.Rand(taps*7+2*nr+64, uint64(i))
			w := kerneltest.Rand(taps*mr, uint64(i)+1)
			offs := make([]int, taps)
			for t := range offs {
				offs[t] = (t * 7) % (len(x) - 2*nr)
			}
			scale, shift := kerneltest.Rand(mr, 3), kerneltest.Rand(mr, 4)
			for _, c := range [][2]int{{1, 16}, {nr / 2, 16}, {nr - 1, 16}, {nr, 16}, {nr, 21}, {nr - 20, 21}} {
				n, ystep := c[0], c[1]
				ldy := (nr/16-1)*ystep + 16 + 5
				for _, withRes := range []bool{false, true} {
					for _, floor := range []float32{0, float32(math.Inf(-1))} {
						var res []float32
						if withRes {
							res = kerneltest.Rand(mr*ldy, 5)
						}
						masks := ^uint64(0) >> (64 - n)
						want := kerneltest.Rand(mr*ldy, 6)
						got, check := kerneltest.Guarded(mr*ldy, want)
						tileGeneric(mr, step, taps, w, offs, x, masks, want, ldy, ystep, scale, shift, res, floor)
						tile(mr, step, taps, w, offs, x, masks, got, ldy, ystep, scale, shift, res, floor)
						check(t)
						kerneltest.CheckNMSE(t, fmt.Sprintf("step=%d mr=%d taps=%d n=%d ystep=%d res=%v floor=%v", step, mr, taps, n, ystep, withRes, floor), got, want, kerneltest.DefaultNMSE)
					}
				}
			}
		}
	}
}

// TestBcastKernel holds the dispatched bcast kernel (assembly when
// available) to bcastGeneric on random taps, offsets, column counts and
// epilogues with and without a residual, with guard bands around the output
// rows.
func TestBcastKernel(t *testing.T) {
	for _, c := range [][2]int{{14, 1}, {14, 2}, {7, 1}, {7, 2}} {
		cols, step := c[0], c[1]
		for i, taps := range []int{1, 2, 9, 27, 144} {
			x := kerneltest.Rand(taps*5+2*cols+16, uint64(i))
			w := kerneltest.Rand(taps*bcastK, uint64(i)+1)
			offs := make([]int, taps)
			for t := range offs {
				offs[t] = (t * 5) % (len(x) - 2*cols)
			}
			scale, shift := kerneltest.Rand(bcastK, 3), kerneltest.Rand(bcastK, 4)
			ldy := cols + 3
			for _, n := range []int{1, cols / 2, cols - 1, cols} {
				for _, floor := range []float32{0, float32(math.Inf(-1))} {
					for _, res := range [][]float32{nil, kerneltest.Rand(bcastK*ldy, 7)} {
						want := kerneltest.Rand(bcastK*ldy, 6)
						got, check := kerneltest.Guarded(len(want), want)
						bcastGeneric(cols, step, taps, w, offs, x, want, ldy, n, scale, shift, res, floor)
						bcastTile(cols, step, taps, w, offs, x, got, ldy, n, scale, shift, res, floor)
						check(t)
						kerneltest.CheckNMSE(t, fmt.Sprintf("cols=%d step=%d taps=%d n=%d floor=%v res=%v", cols, step, taps, n, floor, res != nil), got, want, kerneltest.DefaultNMSE)
					}
				}
			}
		}
	}
}
