//go:build !purego

package row7

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
	input    func(row *float32, t *float32, bt *float32, n int)
	multiply func(n int, t *float32, tChan int, c int, u *float32, y *float32, yRow int, shift *float32, floor float32)
}{
	{"avx512", avx512, inputAVX512, multiplyAVX512},
	{"avx2", avx2 || avx512, inputAVX2, multiplyAVX2},
}

// The assembly kernels match their Go definitions on every tile count and
// channel count, and write nothing else.
func TestKernelsMatchGeneric(t *testing.T) {
	for _, k := range kernels {
		t.Run(k.name, func(t *testing.T) {
			if !k.ok {
				t.Skip("not on this CPU")
			}
			for blocks := 1; blocks <= 3; blocks++ {
				row := kerneltest.Rand(M*Block*blocks+Points, uint64(blocks))
				got, check := kerneltest.Guarded(blocks*BlockLen, kerneltest.Rand(blocks*BlockLen, 1))
				want := kerneltest.Rand(blocks*BlockLen, 1)
				k.input(&row[0], &got[0], &bt[0], blocks)
				inputGeneric(row, want, blocks)
				check(t)
				kerneltest.CheckNMSE(t, fmt.Sprintf("input %d blocks", blocks), got, want, 1e-12)
			}
			for _, c := range []int{1, 3} {
				for n := 1; n <= Block; n++ {
					tChan := 2 * BlockLen
					tr := kerneltest.Rand(((Rows+6)*c+1)*tChan, uint64(c))
					u := kerneltest.Rand(ULen(c), 2)
					shift := kerneltest.Rand(16, 3)
					yRow := 16*M*n + 16
					size := (Rows-1)*yRow + 16*M*n
					got, check := kerneltest.Guarded(size, kerneltest.Rand(size, 4))
					want := kerneltest.Rand(size, 4)
					floor := float32(0)
					if n%2 == 1 {
						floor = float32(math.Inf(-1))
					}
					k.multiply(n, &tr[3], tChan, c, &u[0], &got[0], yRow, &shift[0], floor)
					multiplyGeneric(n, tr[3:], tChan, c, u, want, yRow, shift, floor)
					check(t)
					kerneltest.CheckNMSE(t, fmt.Sprintf("multiply c=%d n=%d", c, n), got, want, 1e-12)
				}
			}
			// A NaN in output channel 5's filter (point 1, which both outputs
			// of a tile use) becomes the floor, 0, in every pixel of that
			// channel, where the Go definition keeps the NaN.
			const c, n = 3, 5
			tChan := BlockLen
			tr := kerneltest.Rand(((Rows+6)*c+1)*tChan, 7)
			u := kerneltest.Rand(ULen(c), 8)
			u[1*16+5] = float32(math.NaN())
			shift := kerneltest.Rand(16, 9)
			yRow := 16 * M * n
			got, want := make([]float32, Rows*yRow), make([]float32, Rows*yRow)
			k.multiply(n, &tr[0], tChan, c, &u[0], &got[0], yRow, &shift[0], 0)
			multiplyGeneric(n, tr, tChan, c, u, want, yRow, shift, 0)
			for i, w := range want {
				if nan := math.IsNaN(float64(w)); nan != (i%16 == 5) {
					t.Fatalf("definition: output %d NaN %v", i, nan)
				} else if nan {
					want[i] = 0
				}
			}
			kerneltest.CheckNMSE(t, "multiply with a NaN", got, want, 1e-12)
		})
	}
}
