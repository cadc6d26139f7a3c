package winograd

// The F(4x4, 3x3) transforms use the interpolation points 0, 1, -1, 2, -2 and
// infinity: filter U = G g G^T (here, once per plan, in float64), input
// V = B^T d B and output Y = A^T M A (rows.go, applied to the columns of a tile
// and then to its rows).

// filterRow is G (6x3) times a 3-vector.
func filterRow(g0, g1, g2 float64) [tileIn]float64 {
	return [tileIn]float64{
		g0 / 4,
		-(g0 + g1 + g2) / 6,
		-(g0 - g1 + g2) / 6,
		g0/24 + g1/12 + g2/6,
		g0/24 - g1/12 + g2/6,
		g2,
	}
}

// transformFilter computes G g G^T for a 3x3 filter g (row-major) in float64.
func transformFilter(g []float32, u *[nPos]float64) {
	var cols [3][tileIn]float64 // G applied down each column of g
	for j := range 3 {
		cols[j] = filterRow(float64(g[j]), float64(g[3+j]), float64(g[6+j]))
	}
	for i := range tileIn {
		row := filterRow(cols[0][i], cols[1][i], cols[2][i])
		copy(u[i*tileIn:(i+1)*tileIn], row[:])
	}
}
