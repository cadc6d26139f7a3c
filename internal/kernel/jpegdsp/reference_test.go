package jpegdsp

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestIDCTAgainstFloat holds the integer islow IDCT (shortcuts included) to
// the exact float transform on random blocks, sparse and dense.
func TestIDCTAgainstFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	var q [64]uint16
	for i := range q {
		q[i] = uint16(1 + r.IntN(8))
	}
	out := make([]uint8, 64)
	for trial := range 300 {
		blk := make([]int16, 64)
		blk[0] = int16(r.IntN(200) - 100)
		for i := 1; i < 64; i++ {
			if trial%3 == 0 || r.IntN(4) == 0 {
				blk[i] = int16(r.IntN(41) - 20)
			}
		}
		idctGeneric(out, 8, (*[64]int16)(blk), &q)
		for y := range 8 {
			for x := range 8 {
				s := 0.0
				for v := range 8 {
					for u := range 8 {
						cu, cv := 1.0, 1.0
						if u == 0 {
							cu = 1 / math.Sqrt2
						}
						if v == 0 {
							cv = 1 / math.Sqrt2
						}
						c := float64(blk[8*v+u]) * float64(q[8*v+u])
						s += cu * cv * c * math.Cos(float64(2*x+1)*float64(u)*math.Pi/16) * math.Cos(float64(2*y+1)*float64(v)*math.Pi/16)
					}
				}
				want := math.Max(0, math.Min(255, math.Round(s/4+128)))
				if d := math.Abs(float64(out[8*y+x]) - want); d > 1 {
					t.Fatalf("trial %d (%d,%d): islow %d, float %.1f", trial, x, y, out[8*y+x], want)
				}
			}
		}
	}
}
