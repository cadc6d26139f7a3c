package winograd

import "github.com/dla-go/dla/internal/kernel/winograd/c16"

// The F(4x4, 3x3) transforms use the interpolation points 0, 1, -1, 2, -2 and
// infinity: filter U = G g G^T (c16.Filter, once per plan, in float64), input
// V = B^T d B and output Y = A^T M A (below, applied to the columns of a tile
// and then to its rows).

// inputRowsGeneric is the definition of inputRowsAVX2: B^T applied down six
// rows, out[i*outStride+x] = sum_j BT[i][j] * in[j*inStride+x] for x < n,
// in the factored order the assembly uses (c16.InputColumn).
func inputRowsGeneric(in []float32, inStride int, out []float32, outStride int, n int) {
	for x := range n {
		t := c16.InputColumn([6]float32{in[x], in[inStride+x], in[2*inStride+x],
			in[3*inStride+x], in[4*inStride+x], in[5*inStride+x]})
		for i, v := range t {
			out[i*outStride+x] = v
		}
	}
}

// outputRowsGeneric is the definition of outputRowsAVX2: A^T applied down six
// rows into four, out[r*outStride+x] = sum_j AT[r][j] * in[j*inStride+x]
// (c16.OutputColumn).
func outputRowsGeneric(in []float32, inStride int, out []float32, outStride int, n int) {
	for x := range n {
		o := c16.OutputColumn([6]float32{in[x], in[inStride+x], in[2*inStride+x],
			in[3*inStride+x], in[4*inStride+x], in[5*inStride+x]})
		for r, v := range o {
			out[r*outStride+x] = v
		}
	}
}

// checkRows panics unless rows of n floats, stride apart, fit in buf.
// Input rows may overlap (they are only read); output rows may not.
func checkRows(buf []float32, rows, stride, n int, output bool) {
	if n > 0 && (stride < 0 || output && stride < n || len(buf) < (rows-1)*stride+n) {
		panic("winograd: row buffer too short")
	}
}
