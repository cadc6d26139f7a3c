// Package row7 computes 7x7, stride 1, pad 3 convolutions to 16 channels
// (DLA's first layer, 3 -> 16 at 224x224) with the one-dimensional Winograd
// algorithm F(2, 7) along the rows: two outputs of a kernel row take 8
// products instead of 14, so the layer needs 1.75 times fewer FMAs than a
// direct convolution. Along the columns the seven kernel rows are summed
// directly. Outputs are channel-interleaved, each pixel's 16 channels one
// vector, as in package conv's fused stem.
//
// Why not F(4, 7), 2.8 times fewer FMAs: the first layer's rounding errors
// grow through the whole network, and in float32 F(4, 7) has about six
// times a direct convolution's error (F(2, 7) twice). On the randomly
// initialised DLA46_c of the import tests it moved the logits 1.6e-4 of
// their largest from PyTorch's, past the 1e-4 the engine keeps to; F(2, 7)
// keeps them at its 1x1 and 3x3 layers' level (docs/performance.md).
//
// A convolution runs in two passes. Input transforms each zero-padded input
// row (one per channel) into blocks of Block tiles; a tile is M output
// columns. Multiply then computes Rows output rows of up to Block tiles from
// the transformed rows, the packed filter, a shift and a floor.
package row7

const (
	M        = 2              // outputs per tile
	Points   = M + 6          // products per tile and kernel row
	Block    = 16             // tiles transformed together, one per vector lane
	BlockLen = Points * Block // floats of a block: [point][tile]
	Rows     = 3              // output rows per Multiply call
)

// points are the finite interpolation points, in the order of the transform
// matrices' rows (infinity is the last).
var points = [Points - 1]float64{0, 1, -1, 2, -2, 0.5, -0.5}

var (
	bt [Points * Points]float32 // B^T, row-major: input transform
	g  [Points][7]float64       // G: filter transform
	at [M][Points]float32       // A^T: output transform
)

// init builds the transforms of the Toom-Cook construction: for a finite
// point a_j, G's row is the powers of a_j over N_j = prod over l != j of
// (a_j - a_l), A^T's column the powers of a_j, and B^T's row the
// coefficients of prod over l != j of (x - a_l); for infinity they pick the
// last filter tap, the last output and the coefficients of prod over all l
// of (x - a_l).
func init() {
	for j, a := range points {
		n := 1.0
		poly := []float64{1} // coefficients, lowest power first
		for l, b := range points {
			if l != j {
				n *= a - b
				poly = mulLinear(poly, b)
			}
		}
		for k := range 7 {
			g[j][k] = pow(a, k) / n
		}
		for i := range M {
			at[i][j] = float32(pow(a, i))
		}
		for l, c := range poly {
			bt[j*Points+l] = float32(c)
		}
	}
	g[Points-1][6], at[M-1][Points-1] = 1, 1
	poly := []float64{1}
	for _, b := range points {
		poly = mulLinear(poly, b)
	}
	for l, c := range poly {
		bt[(Points-1)*Points+l] = float32(c)
	}
}

// mulLinear multiplies the polynomial p (lowest power first) by (x - b).
func mulLinear(p []float64, b float64) []float64 {
	q := make([]float64, len(p)+1)
	for i, c := range p {
		q[i+1] += c
		q[i] -= b * c
	}
	return q
}

func pow(a float64, k int) float64 {
	r := 1.0
	for range k {
		r *= a
	}
	return r
}

// ULen is the floats of a filter from c input channels packed by PackFilter.
func ULen(c int) int { return 7 * c * Points * 16 }

// PackFilter transforms 16 x c x 7 x 7 weights (output channel, input
// channel, row, column) into what Multiply takes: u[((r*c+ch)*Points+p)*16+k]
// is point p of kernel row r of channel ch for output channel k.
func PackFilter(w []float32, c int) []float32 {
	if c < 1 || len(w) != 16*c*49 {
		panic("row7: weights are not 16 x c x 7 x 7")
	}
	u := make([]float32, ULen(c))
	for k := range 16 {
		for ch := range c {
			for r := range 7 {
				taps := w[((k*c+ch)*7+r)*7:][:7]
				for p := range Points {
					var s float64
					for q, x := range taps {
						s += g[p][q] * float64(x)
					}
					u[((r*c+ch)*Points+p)*16+k] = float32(s)
				}
			}
		}
	}
	return u
}

// Input transforms n blocks of tiles of one zero-padded input row: tile
// 16b+i reads row[32b+2i:][:8], and t[b*BlockLen+p*16+i] = sum over j of
// B^T[p][j] * row[32b+2i+j]. Lanes of tiles past the row's end compute from
// whatever row holds there and must be left unused.
func Input(row, t []float32, n int) {
	if n < 1 {
		panic("row7: no blocks")
	}
	_, _ = row[M*Block*n-M+Points-1], t[n*BlockLen-1]
	input(row, t, n)
}

// Multiply computes Rows output rows of n tiles (1 <= n <= Block, from the
// tile whose lane t[0] is, all in one block): tile i of output row j is
//
//	y[j*yRow + 16*(M*i+q) + k] = max(sum over p of A^T[q][p] * m[p] + shift[k], floor)
//	m[p] = sum over r < 7, ch < c of t[((j+r)*c+ch)*tChan + 16*p + i] * u[((r*c+ch)*Points+p)*16+k]
//
// for q < M, k < 16, where tChan is the floats between the transformed rows
// of two channels (and c*tChan between input rows). The assembly turns a NaN
// into floor.
func Multiply(n int, t []float32, tChan, c int, u, y []float32, yRow int, shift []float32, floor float32) {
	if n < 1 || n > Block || c < 1 || tChan < BlockLen || yRow < 16*M*n {
		panic("row7: bad tiles")
	}
	_, _, _ = t[((Rows-1+6)*c+c-1)*tChan+16*(Points-1)+n-1], u[ULen(c)-1], shift[15]
	_ = y[(Rows-1)*yRow+16*M*n-1]
	multiply(n, t, tChan, c, u, y, yRow, shift, floor)
}

// inputGeneric is the definition of Input.
func inputGeneric(row, t []float32, n int) {
	for b := range n {
		for i := range Block {
			for p := range Points {
				var s float32
				for j := range Points {
					s += bt[p*Points+j] * row[M*(Block*b+i)+j]
				}
				t[b*BlockLen+p*16+i] = s
			}
		}
	}
}

// multiplyGeneric is the definition of Multiply.
func multiplyGeneric(n int, t []float32, tChan, c int, u, y []float32, yRow int, shift []float32, floor float32) {
	for j := range Rows {
		for i := range n {
			var m [Points][16]float32
			for step := range 7 * c {
				for p := range Points {
					x := t[(j*c+step)*tChan+16*p+i]
					for k := range 16 {
						m[p][k] += x * u[(step*Points+p)*16+k]
					}
				}
			}
			for q := range M {
				for k := range 16 {
					var s float32
					for p := range Points {
						s += at[q][p] * m[p][k]
					}
					y[j*yRow+16*(M*i+q)+k] = max(s+shift[k], floor)
				}
			}
		}
	}
}
