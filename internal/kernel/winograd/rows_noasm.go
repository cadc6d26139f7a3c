//go:build !amd64 || purego

package winograd

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
