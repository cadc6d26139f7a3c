//go:build !purego

package winograd

import (
	"fmt"
	"testing"

	"github.com/dla-go/dla/internal/kernel/kerneltest"
)

// The lane transforms in assembly match their Go definitions, write only
// the plane's pixels and their lanes' positions, and read the residual only
// where they write.
func TestLaneKernelsMatchGeneric(t *testing.T) {
	if !useLanes {
		t.Skip("no AVX-512")
	}
	for _, hw := range [][2]int{{13, 13}, {14, 14}, {16, 15}, {5, 9}, {21, 21}} {
		h, w := hw[0], hw[1]
		maps := laneMaps(h, w)
		m := &maps[len(maps)-1] // partial for 5x9 (6 tiles) and 21x21 (36)
		const posStride = 37
		plane := kerneltest.Rand(h*w, 1)
		got, check := kerneltest.Guarded((nPos-1)*posStride+m.lanes, kerneltest.Rand((nPos-1)*posStride+m.lanes, 2))
		want := append([]float32(nil), got...)
		inputTiles16(plane, m, got, posStride)
		inputTiles16Generic(plane, m, want, posStride)
		check(t)
		kerneltest.CheckNMSE(t, fmt.Sprintf("%dx%d input", h, w), got, want, 1e-12)

		prod := kerneltest.Rand((nPos-1)*posStride+16, 3)
		res := kerneltest.Rand(h*w, 4)
		for _, r := range [][]float32{nil, res} {
			for _, relu := range []bool{false, true} {
				y, check := kerneltest.Guarded(h*w, kerneltest.Rand(h*w, 5))
				wantY := kerneltest.Rand(h*w, 5)
				outputTiles16(prod, posStride, y, r, m, 0.75, -0.25, relu)
				outputTiles16Generic(prod, posStride, wantY, r, m, 0.75, -0.25, relu)
				check(t)
				kerneltest.CheckNMSE(t, fmt.Sprintf("%dx%d output res=%v relu=%v", h, w, r != nil, relu), y, wantY, 1e-12)
			}
		}
	}
}
