//go:build !purego

package row7

import (
	"fmt"
	"math"
	"testing"

	"github.com/dla-go/dla/internal/kernel/kerneltest"
)

// The assembly kernels match their Go definitions on every tile count and
// channel count, and write nothing else.
func TestKernelsMatchGeneric(t *testing.T) {
	if !Fast {
		t.Skip("no AVX-512")
	}
	for blocks := 1; blocks <= 3; blocks++ {
		row := kerneltest.Rand(M*Block*blocks+Points, uint64(blocks))
		got, check := kerneltest.Guarded(blocks*BlockLen, kerneltest.Rand(blocks*BlockLen, 1))
		want := kerneltest.Rand(blocks*BlockLen, 1)
		inputAVX512(&row[0], &got[0], &bt[0], blocks)
		inputGeneric(row, want, blocks)
		check(t)
		kerneltest.CheckNMSE(t, fmt.Sprintf("input %d blocks", blocks), got, want, 1e-12)
	}
	for _, c := range []int{1, 3} {
		for _, n := range []int{1, 5, Block} {
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
			multiplyAVX512(n, &tr[3], tChan, c, &u[0], &got[0], yRow, &shift[0], floor)
			multiplyGeneric(n, tr[3:], tChan, c, u, want, yRow, shift, floor)
			check(t)
			kerneltest.CheckNMSE(t, fmt.Sprintf("multiply c=%d n=%d", c, n), got, want, 1e-12)
		}
	}
}
