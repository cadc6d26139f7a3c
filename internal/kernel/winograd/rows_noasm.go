//go:build !amd64 || purego

package winograd

func inputRows(in []float32, inStride int, out []float32, outStride int, n int) {
	checkRows(in, 6, inStride, n)
	checkRows(out, 6, outStride, n)
	inputRowsGeneric(in, inStride, out, outStride, n)
}

func outputRows(in []float32, inStride int, out []float32, outStride int, n int) {
	checkRows(in, 6, inStride, n)
	checkRows(out, 4, outStride, n)
	outputRowsGeneric(in, inStride, out, outStride, n)
}
