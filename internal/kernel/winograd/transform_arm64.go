//go:build !purego

package winograd

// inputRowsNEON applies B^T to six rows, 4 columns at a time (see
// inputRowsGeneric); n is a positive multiple of 4.
//
//go:noescape
func inputRowsNEON(in *float32, inStride int, out *float32, outStride int, n int)

// outputRowsNEON applies A^T to six rows, 4 columns at a time (see
// outputRowsGeneric); n is a positive multiple of 4.
//
//go:noescape
func outputRowsNEON(in *float32, inStride int, out *float32, outStride int, n int)
