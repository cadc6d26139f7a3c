//go:build !purego

package winograd

import "golang.org/x/sys/cpu"

//go:generate go run -C _asm . -out ../transform_amd64.s -stubs ../transform_amd64.go -pkg winograd

// useAVX2 selects the assembly row transforms; they need what
// transform_amd64.s lists under "Requires:" (AVX, FMA3).
var useAVX2 = cpu.X86.HasAVX && cpu.X86.HasFMA

// useLanes selects the lane transforms (lanes.go); tests turn it off to
// run the row transforms everywhere.
var useLanes = cpu.X86.HasAVX512F

// Tier names the instruction set of the transforms new plans run.
func Tier() string {
	switch {
	case useLanes:
		return "avx512"
	case useAVX2:
		return "avx2"
	}
	return "generic"
}

func inputTiles16(plane []float32, m *laneMap, v []float32, posStride int) {
	checkLanes(len(plane), m, len(v), posStride)
	inputTiles16AVX512(&plane[0], &m.in[0], &m.inMask[0], &v[0], posStride, 1<<m.lanes-1)
}

func inputQuarters16(plane []float32, g *quarterGroup, v []float32, posStride int) {
	checkQuarters(len(plane), g, len(v), posStride)
	inputQuarters16AVX512(&plane[0], &g.off[0], &g.mask[0], &v[0], posStride)
}

func outputQuarters16(mm []float32, posStride int, y, res []float32, g *quarterGroup, scale, shift float32, relu bool) {
	checkQuarters(len(y), g, len(mm), posStride)
	var r *float32
	if res != nil {
		_ = res[g.hw-1]
		r = &res[0]
	}
	outputQuarters16AVX512(&mm[0], posStride, &y[0], r, &g.outOff[0], &g.outMask[0], scale, shift, relu)
}

// outputTiles16 reads whole vectors of mm: 16 floats at each position.
func outputTiles16(mm []float32, posStride int, y, res []float32, m *laneMap, scale, shift float32, relu bool) {
	checkLanes(len(y), m, len(mm)-16+m.lanes, posStride)
	var r *float32
	if res != nil {
		_ = res[len(y)-1]
		r = &res[0]
	}
	outputTiles16AVX512(&mm[0], posStride, &y[0], r, &m.out[0], &m.outMask[0], scale, shift, relu)
}

func inputRows(in []float32, inStride int, out []float32, outStride int, n int) {
	checkRows(in, 6, inStride, n, false)
	checkRows(out, 6, outStride, n, true)
	k := 0
	if useAVX2 {
		k = n &^ 7
		if k > 0 {
			inputRowsAVX2(&in[0], inStride, &out[0], outStride, k)
		}
	}
	if k < n {
		inputRowsGeneric(in[k:], inStride, out[k:], outStride, n-k)
	}
}

func outputRows(in []float32, inStride int, out []float32, outStride int, n int) {
	checkRows(in, 6, inStride, n, false)
	checkRows(out, 4, outStride, n, true)
	k := 0
	if useAVX2 {
		k = n &^ 7
		if k > 0 {
			outputRowsAVX2(&in[0], inStride, &out[0], outStride, k)
		}
	}
	if k < n {
		outputRowsGeneric(in[k:], inStride, out[k:], outStride, n-k)
	}
}
