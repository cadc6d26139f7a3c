//go:build !purego

package winograd

import "golang.org/x/sys/cpu"

// useNEON selects the NEON row transforms (every arm64 CPU Go runs on has
// Advanced SIMD; GODEBUG=cpu.asimd=off turns them off).
var useNEON = cpu.ARM64.HasASIMD

// useLanes is false: the lane transforms are AVX-512 only.
var useLanes = false

// Tier names the instruction set of the transforms new plans run.
func Tier() string {
	if useNEON {
		return "neon"
	}
	return "generic"
}

func inputRows(in []float32, inStride int, out []float32, outStride int, n int) {
	checkRows(in, 6, inStride, n, false)
	checkRows(out, 6, outStride, n, true)
	// The assembly is called directly, not through a func value, so that
	// its arguments do not escape (the tiles' buffers stay on the stack).
	k := 0
	if useNEON {
		if k = n &^ 3; k > 0 {
			inputRowsNEON(&in[0], inStride, &out[0], outStride, k)
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
	if useNEON {
		if k = n &^ 3; k > 0 {
			outputRowsNEON(&in[0], inStride, &out[0], outStride, k)
		}
	}
	if k < n {
		outputRowsGeneric(in[k:], inStride, out[k:], outStride, n-k)
	}
}

func inputTiles16(plane []float32, m *laneMap, v []float32, posStride int) {
	inputTiles16Generic(plane, m, v, posStride)
}

func inputQuarters16(plane []float32, g *quarterGroup, v []float32, posStride int) {
	inputQuarters16Generic(plane, g, v, posStride)
}

func outputQuarters16(mm []float32, posStride int, y, res []float32, g *quarterGroup, scale, shift float32, relu bool) {
	outputQuarters16Generic(mm, posStride, y, res, g, scale, shift, relu)
}

func outputTiles16(mm []float32, posStride int, y, res []float32, m *laneMap, scale, shift float32, relu bool) {
	outputTiles16Generic(mm, posStride, y, res, m, scale, shift, relu)
}
