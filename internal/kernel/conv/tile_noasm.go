//go:build !amd64 || purego

package conv

// haveTile is false: without assembly the blocked direct strategy would be
// slower than the GEMM paths, so it is chosen only when a test forces it.
var haveTile = false

// haveAVX2 is false: there is no assembly.
const haveAVX2 = false

const tileISA = "none"

func tile(mr, step, taps int, w []float32, offs []int, x []float32, masks uint64, y []float32, ldy, ystep int, scale, shift, res []float32, floor float32) {
	tileGeneric(mr, step, taps, w, offs, x, masks, y, ldy, ystep, scale, shift, res, floor)
}

func bcastTile(cols, step, taps int, w, _ []float32, _ int, offs []int, x []float32, y []float32, ldy, n int, scale, shift, res []float32, floor float32) {
	bcastGeneric(bcastK, cols, step, taps, w, offs, x, y, ldy, n, scale, shift, res, floor)
}

func bcast16Tile(stride int, w []float32, offs []int, x, y []float32, n int, shift []float32, floor float32) {
	bcast16Generic(stride, w, offs, x, y, n, shift, floor)
}

func split2Rows(even, odd, src []float32, n, rows, pitch, stride int) {
	split2RowsGeneric(even, odd, src, n, rows, pitch, stride)
}

func padRows(dst, src []float32, w, rows, padL, pitch int) {
	padRowsGeneric(dst, src, w, rows, padL, pitch)
}

func prefetchTileRows([]float32, int, int, int) {}
