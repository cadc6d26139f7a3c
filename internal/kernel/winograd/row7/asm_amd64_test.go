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
		})
	}
}
