// Package c16 computes 3x3, stride 1, pad 1 convolutions from 16 channels to
// 16 with Winograd F(4x4, 3x3) on channel-interleaved images (each pixel's 16
// channels stored together, as in the fused stem of package conv). A pixel is
// then one AVX-512 vector (two AVX2 ones), so the transforms are plain vector
// arithmetic with no shuffles, and the 36 products of a tile are 16x16
// matrix-vector products. It holds the F(4x4, 3x3) transforms that package winograd
// shares: Filter, InputColumn and OutputColumn.
//
// A convolution runs in groups of up to Group tiles: Input transforms them
// into v, Multiply multiplies them by the packed filter in place, and Output
// transforms them back, adding the shift and clamping at the floor. v holds
// a group position-major: float v[pos*16*Group + t*16 + c] is channel c of
// position pos (0..35, row-major in the 6x6 tile) of the group's tile t.
package c16

const (
	Group = 8               // tiles multiplied together: AVX-512's 16 weight and 8 accumulator registers
	VLen  = 36 * Group * 16 // floats of a group's transformed tiles
	ULen  = 36 * 16 * 16    // floats of a packed filter
	step  = Group * 16      // floats from one position to the next in v
)

// filterRow is G (6x3) times a 3-vector, for the interpolation points 0, 1,
// -1, 2, -2 and infinity.
func filterRow(g0, g1, g2 float64) [6]float64 {
	return [6]float64{
		g0 / 4,
		-(g0 + g1 + g2) / 6,
		-(g0 - g1 + g2) / 6,
		g0/24 + g1/12 + g2/6,
		g0/24 - g1/12 + g2/6,
		g2,
	}
}

// Filter computes G g G^T for a 3x3 filter g (row-major) in float64.
func Filter(g []float32, u *[36]float64) {
	var cols [3][6]float64 // G applied down each column of g
	for j := range 3 {
		cols[j] = filterRow(float64(g[j]), float64(g[3+j]), float64(g[6+j]))
	}
	for i := range 6 {
		row := filterRow(cols[0][i], cols[1][i], cols[2][i])
		copy(u[i*6:(i+1)*6], row[:])
	}
}

// PackFilter transforms 16x16x3x3 weights (output channel, input channel,
// row, column) into the ULen floats Multiply takes: u[pos*256 + c*16 + k].
func PackFilter(w []float32) []float32 {
	if len(w) != 16*16*9 {
		panic("c16: weights are not 16x16x3x3")
	}
	u := make([]float32, ULen)
	var t [36]float64
	for k := range 16 {
		for c := range 16 {
			Filter(w[(k*16+c)*9:(k*16+c+1)*9], &t)
			for pos, x := range t {
				u[pos*256+c*16+k] = float32(x)
			}
		}
	}
	return u
}

// Input transforms n tiles (1 <= n <= Group) into the first n slots of v:
// tile t's 6x6 input pixels are src[t*64 + r*pitch + 16*x:][:16] for rows r
// and columns x (tiles 4 pixels apart, rows pitch floats apart).
func Input(src []float32, pitch int, v []float32, n int) {
	if n < 1 || n > Group || pitch < 96 {
		panic("c16: bad input tiles")
	}
	_, _ = src[(n-1)*64+5*pitch+95], v[35*step+n*16-1]
	input(src, pitch, v, n)
}

// Multiply replaces each of the Group tiles in v by its product with the
// packed filter u: v[pos][t][k] = sum over c of u[pos][c][k] * v[pos][t][c].
func Multiply(v, u []float32) {
	_, _ = v[VLen-1], u[ULen-1]
	multiply(v, u)
}

// Output transforms the first n tiles of v (1 <= n <= Group) back into 4x4
// output pixels at dst[t*64 + r*pitch + 16*x:][:16], each channel k
// max(y + shift[k], floor) (the assembly turns a NaN into floor).
func Output(v []float32, n int, dst []float32, pitch int, shift []float32, floor float32) {
	if n < 1 || n > Group || pitch < 64 {
		panic("c16: bad output tiles")
	}
	_, _, _ = v[35*step+n*16-1], dst[(n-1)*64+3*pitch+63], shift[15]
	output(v, n, dst, pitch, shift, floor)
}

// InputColumn is B^T applied to a column of six, in the factored order of
// the assembly here and in package winograd.
func InputColumn(d [6]float32) [6]float32 {
	a, b := d[1]+d[2], d[1]-d[2]
	c, e := d[4]-d[2], d[3]-d[1]
	return [6]float32{
		(d[4] + 4*d[0]) - 5*d[2],
		(d[3] + d[4]) - 4*a,
		(d[4] - d[3]) + 4*b,
		c + 2*e,
		c - 2*e,
		(d[5] + 4*d[1]) - 5*d[3],
	}
}

// OutputColumn is A^T applied to a column of six, giving four, in the
// factored order of the assembly here and in package winograd.
func OutputColumn(m [6]float32) [4]float32 {
	sp, sm, dp, dm := m[1]+m[2], m[1]-m[2], m[3]+m[4], m[3]-m[4]
	return [4]float32{(m[0] + sp) + dp, sm + 2*dm, sp + 4*dp, (sm + 8*dm) + m[5]}
}

// inputGeneric is the definition of Input: V = B^T d B per tile and channel.
func inputGeneric(src []float32, pitch int, v []float32, n int) {
	for t := range n {
		for c := range 16 {
			var cols [6][6]float32 // [x][i]: B^T down column x
			for x := range 6 {
				var d [6]float32
				for r := range 6 {
					d[r] = src[t*64+r*pitch+16*x+c]
				}
				cols[x] = InputColumn(d)
			}
			for i := range 6 {
				row := InputColumn([6]float32{cols[0][i], cols[1][i], cols[2][i], cols[3][i], cols[4][i], cols[5][i]})
				for j, x := range row {
					v[(i*6+j)*step+t*16+c] = x
				}
			}
		}
	}
}

// multiplyGeneric is the definition of Multiply.
func multiplyGeneric(v, u []float32) {
	for pos := range 36 {
		for t := range Group {
			tile := v[pos*step+t*16 : pos*step+t*16+16]
			var s [16]float32
			for c, x := range tile {
				for k := range s {
					s[k] += u[pos*256+c*16+k] * x
				}
			}
			copy(tile, s[:])
		}
	}
}

// outputGeneric is the definition of Output: Y = A^T M A per tile and channel.
func outputGeneric(v []float32, n int, dst []float32, pitch int, shift []float32, floor float32) {
	for t := range n {
		for k := range 16 {
			var cols [6][4]float32 // [j][r]: A^T down column j
			for j := range 6 {
				var m [6]float32
				for i := range 6 {
					m[i] = v[(i*6+j)*step+t*16+k]
				}
				cols[j] = OutputColumn(m)
			}
			for r := range 4 {
				row := OutputColumn([6]float32{cols[0][r], cols[1][r], cols[2][r], cols[3][r], cols[4][r], cols[5][r]})
				for x, y := range row {
					dst[t*64+r*pitch+16*x+k] = max(y+shift[k], floor)
				}
			}
		}
	}
}
