//go:build (!amd64 && !arm64) || purego

package winograd

// Tier names the instruction set of the transforms: none here.
func Tier() string { return "generic" }

func inputRows(in []float32, inStride int, out []float32, outStride int, n int) {
	checkRows(in, 6, inStride, n, false)
	checkRows(out, 6, outStride, n, true)
	inputRowsGeneric(in, inStride, out, outStride, n)
}

func outputRows(in []float32, inStride int, out []float32, outStride int, n int) {
	checkRows(in, 6, inStride, n, false)
	checkRows(out, 4, outStride, n, true)
	outputRowsGeneric(in, inStride, out, outStride, n)
}

// useLanes is false: without assembly the row transforms are faster.
var useLanes = false

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
