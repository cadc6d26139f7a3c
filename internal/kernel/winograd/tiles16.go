package winograd

// Images of 13 to 16 pixels a side (DLA's 14x14 layers) have 4x4 tiles, 16,
// so a channel's tiles fill one AVX-512 vector, a tile per lane: the
// transforms then run on whole channels at once (inputTiles16AVX512,
// outputTiles16AVX512) instead of row by row.

// tiles16 maps the lanes of the 16-tile transforms to an h x w plane: lane
// t (tile row t/4, tile column t%4) of input position p (row p/6, column
// p%6 of the tile's 6x6 window) reads plane index in[16p+t] where bit t of
// inMask[p] is set (zero padding elsewhere); output position p (row p/4,
// column p%4 of the 4x4 tile) writes out[16p+t] where bit t of outMask[p] is
// set.
type tiles16 struct {
	hw      int // every index is below h*w
	in      [nPos * 16]int32
	inMask  [nPos]uint16
	out     [tileOut * tileOut * 16]int32
	outMask [tileOut * tileOut]uint16
}

// newTiles16 builds the maps for an h x w plane with 4x4 tiles.
func newTiles16(h, w int) *tiles16 {
	m := &tiles16{hw: h * w}
	for t := range 16 {
		ty, tx := t/4, t%4
		for p := range nPos {
			r, c := tileOut*ty+p/tileIn-1, tileOut*tx+p%tileIn-1
			if r >= 0 && r < h && c >= 0 && c < w {
				m.in[16*p+t] = int32(r*w + c)
				m.inMask[p] |= 1 << t
			}
		}
		for p := range tileOut * tileOut {
			r, c := tileOut*ty+p/tileOut, tileOut*tx+p%tileOut
			if r < h && c < w {
				m.out[16*p+t] = int32(r*w + c)
				m.outMask[p] |= 1 << t
			}
		}
	}
	return m
}

// checkTiles16 panics unless a plane of planeLen floats holds m's h x w
// plane and nPos positions posStride apart, 16 tiles each, fit in vLen floats.
func checkTiles16(planeLen int, m *tiles16, vLen, posStride int) {
	if posStride < 16 || vLen < (nPos-1)*posStride+16 || planeLen < m.hw {
		panic("winograd: 16-tile buffers too short")
	}
}

// fits16 reports whether an h x w plane has 4x4 tiles.
func fits16(h, w int) bool {
	return (h+tileOut-1)/tileOut == 4 && (w+tileOut-1)/tileOut == 4
}

// inputTiles16Generic is the definition of inputTiles16AVX512: V = B^T d B
// for the 16 tiles of one plane, position q of tile t stored at
// v[q*posStride+t].
func inputTiles16Generic(plane []float32, m *tiles16, v []float32, posStride int) {
	var d, bd, bdT, vT [nPos]float32
	for t := range 16 {
		for p := range nPos {
			d[p] = 0
			if m.inMask[p]>>t&1 != 0 {
				d[p] = plane[m.in[16*p+t]]
			}
		}
		inputRowsGeneric(d[:], tileIn, bd[:], tileIn, tileIn) // B^T d
		transpose6(bdT[:], bd[:])
		inputRowsGeneric(bdT[:], tileIn, vT[:], tileIn, tileIn) // (B^T d B)^T
		for q := range nPos {
			v[q*posStride+t] = vT[(q%tileIn)*tileIn+q/tileIn]
		}
	}
}

// outputTiles16Generic is the definition of outputTiles16AVX512: Y = A^T M A
// for the 16 tiles of one channel (position q of tile t at m[q*posStride+t]),
// then the epilogue, written where the plane's map says.
func outputTiles16Generic(mm []float32, posStride int, y, res []float32, m *tiles16, scale, shift float32, relu bool) {
	var prod, am [nPos]float32
	var amT [nPos]float32
	var yT [tileOut * tileIn]float32
	for t := range 16 {
		for q := range nPos {
			prod[q] = mm[q*posStride+t]
		}
		outputRowsGeneric(prod[:], tileIn, am[:], tileIn, tileIn) // A^T M, 4 x 6
		transpose6(amT[:], am[:])                                 // 6 x 4, in rows of 6
		outputRowsGeneric(amT[:], tileIn, yT[:], tileIn, tileOut) // (A^T M A)^T
		for p := range tileOut * tileOut {
			if m.outMask[p]>>t&1 == 0 {
				continue
			}
			i := m.out[16*p+t]
			v := yT[(p%tileOut)*tileIn+p/tileOut]*scale + shift
			if res != nil {
				v += res[i]
			}
			if relu {
				v = max(v, 0)
			}
			y[i] = v
		}
	}
}

// transpose6 writes the transpose of the 6x6 a into b.
func transpose6(b, a []float32) {
	for i := range tileIn {
		for j := range tileIn {
			b[j*tileIn+i] = a[i*tileIn+j]
		}
	}
}
