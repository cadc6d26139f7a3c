package winograd

// The F(4x4, 3x3) transforms use the interpolation points 0, 1, -1, 2, -2 and
// infinity: filter U = G g G^T (c16.Filter, once per plan, in float64), input
// V = B^T d B and output Y = A^T M A (below, applied to the columns of a tile
// and then to its rows).

// inputRowsGeneric is the definition of inputRowsAVX2: B^T applied down six
// rows, out[i*outStride+x] = sum_j BT[i][j] * in[j*inStride+x] for x < n,
// in the factored order the assembly uses.
func inputRowsGeneric(in []float32, inStride int, out []float32, outStride int, n int) {
	for x := range n {
		d0, d1, d2 := in[x], in[inStride+x], in[2*inStride+x]
		d3, d4, d5 := in[3*inStride+x], in[4*inStride+x], in[5*inStride+x]
		a, b := d1+d2, d1-d2
		c, e := d4-d2, d3-d1
		out[x] = (d4 + 4*d0) - 5*d2
		out[outStride+x] = (d3 + d4) - 4*a
		out[2*outStride+x] = (d4 - d3) + 4*b
		out[3*outStride+x] = c + 2*e
		out[4*outStride+x] = c - 2*e
		out[5*outStride+x] = (d5 + 4*d1) - 5*d3
	}
}

// outputRowsGeneric is the definition of outputRowsAVX2: A^T applied down six
// rows into four, out[r*outStride+x] = sum_j AT[r][j] * in[j*inStride+x].
func outputRowsGeneric(in []float32, inStride int, out []float32, outStride int, n int) {
	for x := range n {
		m0, m1, m2 := in[x], in[inStride+x], in[2*inStride+x]
		m3, m4, m5 := in[3*inStride+x], in[4*inStride+x], in[5*inStride+x]
		sp, sm, dp, dm := m1+m2, m1-m2, m3+m4, m3-m4
		out[x] = (m0 + sp) + dp
		out[outStride+x] = sm + 2*dm
		out[2*outStride+x] = sp + 4*dp
		out[3*outStride+x] = (sm + 8*dm) + m5
	}
}

// checkRows panics unless rows of n floats, stride apart, fit in buf.
// Input rows may overlap (they are only read); output rows may not.
func checkRows(buf []float32, rows, stride, n int, output bool) {
	if n > 0 && (stride < 0 || output && stride < n || len(buf) < (rows-1)*stride+n) {
		panic("winograd: row buffer too short")
	}
}
