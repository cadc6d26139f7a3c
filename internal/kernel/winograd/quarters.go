package winograd

// Quarter groups: the tile blocks (blocks.go) and 14x14 planes read the
// input windows and write the outputs with plain loads and stores instead
// of gathers and scatters. A quarter is up to 4 neighbouring tiles of one
// tile row: window row r of its tile t starts 4t floats after that of tile
// 0, so one 16-float load holds column x of that row for the 4 tiles (every
// fourth float), and the 4 tiles' output row r is 16 floats side by side.
// A group is four quarters, lanes 4k..4k+3 of the assembly transforms.

// quarterGroup maps the 16 lanes of one call of inputQuarters16AVX512 and of
// outputQuarters16AVX512 to an h x w plane; lane 4k+t is tile t of quarter
// k = 2h+q. Input: window row r, column x at plane[off[(6h+r)*2+q] + x + 4t]
// when bit 4t of mask[((6h+r)*6+x)*2+q] is set, and zero otherwise (padding,
// or a lane with no tile). Output: row r, column x of the tile goes to
// plane[outOff[(4h+r)*2+q] + 4t + x] when bit 4t+x of outMask[(4h+r)*2+q]
// is set.
type quarterGroup struct {
	hw      int
	off     [2 * tileIn * 2]int32
	mask    [2 * tileIn * tileIn * 2]uint16
	outOff  [2 * tileOut * 2]int32
	outMask [2 * tileOut * 2]uint16
}

// quarter is up to 4 tiles of tile row ty from tile column tx0.
type quarter struct{ ty, tx0, n int }

// tileQuarters lists a plane's tile rows in quarters of up to 4 tiles.
func tileQuarters(h, w int) []quarter {
	tilesH, tilesW := (h+tileOut-1)/tileOut, (w+tileOut-1)/tileOut
	var qs []quarter
	for ty := range tilesH {
		for tx0 := 0; tx0 < tilesW; tx0 += 4 {
			qs = append(qs, quarter{ty, tx0, min(4, tilesW-tx0)})
		}
	}
	return qs
}

// quarterGroups groups a plane's quarters four at a time, the last group
// shorter.
func quarterGroups(h, w int) []quarterGroup {
	qs := tileQuarters(h, w)
	var gs []quarterGroup
	for i := 0; i < len(qs); i += 4 {
		gs = append(gs, newQuarterGroup(h, w, qs[i:min(i+4, len(qs))]))
	}
	return gs
}

// newQuarterGroup builds the group of up to four quarters qs of an h x w
// plane.
func newQuarterGroup(h, w int, qs []quarter) quarterGroup {
	g := quarterGroup{hw: h * w}
	for k, qt := range qs {
		hi, q := k/2, k%2
		x0 := tileOut*qt.tx0 - 1
		for r := range tileIn {
			y := tileOut*qt.ty - 1 + r
			if y < 0 || y >= h {
				continue // no loads: zeros
			}
			g.off[(6*hi+r)*2+q] = int32(y*w + x0)
			for x := range tileIn {
				for t := range qt.n {
					if c := x0 + x + 4*t; c >= 0 && c < w {
						g.mask[((6*hi+r)*6+x)*2+q] |= 1 << (4 * t)
					}
				}
			}
		}
		for r := range tileOut {
			y := tileOut*qt.ty + r
			if y >= h {
				continue
			}
			g.outOff[(4*hi+r)*2+q] = int32(y*w + x0 + 1)
			for e := range tileOut * qt.n {
				if x0+1+e < w {
					g.outMask[(4*hi+r)*2+q] |= 1 << e
				}
			}
		}
	}
	return g
}

// inputQuarters16Generic is the definition of inputQuarters16AVX512: V =
// B^T d B for the 16 lanes of g, position p of lane l stored at
// v[p*posStride+l].
func inputQuarters16Generic(plane []float32, g *quarterGroup, v []float32, posStride int) {
	var d, bd, bdT, vT [nPos]float32
	for l := range 16 {
		hi, q, t := l/8, l/4%2, l%4
		for r := range tileIn {
			for x := range tileIn {
				d[r*tileIn+x] = 0
				if g.mask[((6*hi+r)*6+x)*2+q]>>(4*t)&1 != 0 {
					d[r*tileIn+x] = plane[int(g.off[(6*hi+r)*2+q])+x+4*t]
				}
			}
		}
		inputRowsGeneric(d[:], tileIn, bd[:], tileIn, tileIn) // B^T d
		transpose6(bdT[:], bd[:])
		inputRowsGeneric(bdT[:], tileIn, vT[:], tileIn, tileIn) // (B^T d B)^T
		for p := range nPos {
			v[p*posStride+l] = vT[(p%tileIn)*tileIn+p/tileIn]
		}
	}
}

// outputQuarters16Generic is the definition of outputQuarters16AVX512: Y =
// A^T M A for the 16 lanes of g (position p of lane l at
// mm[p*posStride+l]), then the epilogue, written where g says.
func outputQuarters16Generic(mm []float32, posStride int, y, res []float32, g *quarterGroup, scale, shift float32, relu bool) {
	var prod, am, amT [nPos]float32
	var yT [tileOut * tileIn]float32
	for l := range 16 {
		hi, q, t := l/8, l/4%2, l%4
		for p := range nPos {
			prod[p] = mm[p*posStride+l]
		}
		outputRowsGeneric(prod[:], tileIn, am[:], tileIn, tileIn) // A^T M, 4 x 6
		transpose6(amT[:], am[:])                                 // 6 x 4, in rows of 6
		outputRowsGeneric(amT[:], tileIn, yT[:], tileIn, tileOut) // (A^T M A)^T
		for r := range tileOut {
			for x := range tileOut {
				if g.outMask[(4*hi+r)*2+q]>>(4*t+x)&1 == 0 {
					continue
				}
				i := int(g.outOff[(4*hi+r)*2+q]) + 4*t + x
				v := yT[x*tileIn+r]*scale + shift
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
}

// checkQuarters panics unless a plane of planeLen floats holds g's plane
// and nPos positions posStride apart, 16 lanes each, fit in vLen floats.
func checkQuarters(planeLen int, g *quarterGroup, vLen, posStride int) {
	if posStride < 16 || vLen < (nPos-1)*posStride+16 || planeLen < g.hw {
		panic("winograd: quarter transform buffers too short")
	}
}
