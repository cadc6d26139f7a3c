package winograd

// The lane transforms (inputTiles16AVX512, outputTiles16AVX512) take 16 of a
// plane's tiles at once, a tile per AVX-512 lane: the 36 inputs of a window
// position are one masked gather, the 16 outputs of a tile position one
// masked scatter. They serve the small planes that quarter groups
// (quarters.go) do not cover.

// laneMap maps the 16 lanes of one call of the lane transforms to an h x w
// plane: lane t of input position p (row p/6, column p%6 of its tile's 6x6
// window) reads plane index in[16p+t] where bit t of inMask[p] is set (zero
// padding elsewhere); output position p (row p/4, column p%4 of the 4x4
// tile) writes out[16p+t] where bit t of outMask[p] is set. Lanes from
// lanes on have no tile and are neither read, stored nor written.
type laneMap struct {
	hw, lanes int // every index is below hw
	in        [nPos * 16]int32
	inMask    [nPos]uint16
	out       [tileOut * tileOut * 16]int32
	outMask   [tileOut * tileOut]uint16
}

// laneMaps builds the maps of an h x w plane's tiles, 16 at a time in raster
// order (tilesW a row).
func laneMaps(h, w int) []laneMap {
	tilesH, tilesW := (h+tileOut-1)/tileOut, (w+tileOut-1)/tileOut
	maps := make([]laneMap, (tilesH*tilesW+15)/16)
	for g := range maps {
		m := &maps[g]
		m.hw, m.lanes = h*w, min(16, tilesH*tilesW-16*g)
		for t := range m.lanes {
			ty, tx := (16*g+t)/tilesW, (16*g+t)%tilesW
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
	}
	return maps
}

// checkLanes panics unless a plane of planeLen floats holds m's plane and
// nPos positions posStride apart, m.lanes tiles each, fit in vLen floats.
func checkLanes(planeLen int, m *laneMap, vLen, posStride int) {
	if posStride < m.lanes || vLen < (nPos-1)*posStride+m.lanes || planeLen < m.hw {
		panic("winograd: lane transform buffers too short")
	}
}

// inputTiles16Generic is the definition of inputTiles16AVX512: V = B^T d B
// for the tiles of m, position q of lane t stored at v[q*posStride+t].
func inputTiles16Generic(plane []float32, m *laneMap, v []float32, posStride int) {
	var d, bd, bdT, vT [nPos]float32
	for t := range m.lanes {
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
// for the tiles of m (position q of lane t at mm[q*posStride+t]), then the
// epilogue, written where m says.
func outputTiles16Generic(mm []float32, posStride int, y, res []float32, m *laneMap, scale, shift float32, relu bool) {
	var prod, am [nPos]float32
	var amT [nPos]float32
	var yT [tileOut * tileIn]float32
	for t := range m.lanes {
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
