package winograd

// Half groups: on planes of many tiles the tile blocks (blocks.go) read the
// input windows with plain loads instead of gathers. A half is up to 8
// neighbouring tiles of one tile row: window row r of its tile t starts 4t
// floats after that of tile 0, so two 16-float loads from one point hold
// column x of that row for all 8 tiles (every fourth float). A group is two
// halves, lanes 0-7 and 8-15 of inputHalves16AVX512.

// halfGroup maps the 16 lanes of one call of inputHalves16AVX512 to an
// h x w plane: lane 8h+t reads window row r, column x at plane[off[6h+r] +
// x + 4t] when bit 4t%16 of mask[((6h+r)*6+x)*2 + 4t/16] is set, and zero
// otherwise (padding, or a lane with no tile). out maps the same lanes for
// the output transform (outputTiles16).
type halfGroup struct {
	off  [2 * tileIn]int32
	mask [2 * tileIn * tileIn * 2]uint16
	out  laneMap
}

// half is up to 8 tiles of tile row ty from tile column tx0.
type half struct{ ty, tx0, n int }

// tileHalves lists a plane's tile rows in halves of up to 8 tiles.
func tileHalves(h, w int) []half {
	tilesH, tilesW := (h+tileOut-1)/tileOut, (w+tileOut-1)/tileOut
	var hs []half
	for ty := range tilesH {
		for tx0 := 0; tx0 < tilesW; tx0 += 8 {
			hs = append(hs, half{ty, tx0, min(8, tilesW-tx0)})
		}
	}
	return hs
}

// newHalfGroup builds the group of halves a and b (b.n may be 0: no tiles)
// of an h x w plane.
func newHalfGroup(h, w int, a, b half) halfGroup {
	var g halfGroup
	g.out.hw, g.out.lanes = h*w, 16
	for hi, hf := range [2]half{a, b} {
		for r := range tileIn {
			y := tileOut*hf.ty - 1 + r
			if y < 0 || y >= h || hf.n == 0 {
				continue // no loads: zeros
			}
			x0 := tileOut*hf.tx0 - 1
			g.off[6*hi+r] = int32(y*w + x0)
			for x := range tileIn {
				for t := range hf.n {
					if c := x0 + x + 4*t; c >= 0 && c < w {
						g.mask[((6*hi+r)*6+x)*2+4*t/16] |= 1 << (4 * t % 16)
					}
				}
			}
		}
		for t := range hf.n {
			lane := 8*hi + t
			ty, tx := hf.ty, hf.tx0+t
			for p := range tileOut * tileOut {
				r, c := tileOut*ty+p/tileOut, tileOut*tx+p%tileOut
				if r < h && c < w {
					g.out.out[16*p+lane] = int32(r*w + c)
					g.out.outMask[p] |= 1 << lane
				}
			}
		}
	}
	return g
}

// inputHalves16Generic is the definition of inputHalves16AVX512: V = B^T d
// B for the 16 lanes of g, position q of lane l stored at v[q*posStride+l].
func inputHalves16Generic(plane []float32, g *halfGroup, v []float32, posStride int) {
	var d, bd, bdT, vT [nPos]float32
	for l := range 16 {
		hi, t := l/8, l%8
		for r := range tileIn {
			for x := range tileIn {
				d[r*tileIn+x] = 0
				if g.mask[((6*hi+r)*6+x)*2+4*t/16]>>(4*t%16)&1 != 0 {
					d[r*tileIn+x] = plane[int(g.off[6*hi+r])+x+4*t]
				}
			}
		}
		inputRowsGeneric(d[:], tileIn, bd[:], tileIn, tileIn) // B^T d
		transpose6(bdT[:], bd[:])
		inputRowsGeneric(bdT[:], tileIn, vT[:], tileIn, tileIn) // (B^T d B)^T
		for q := range nPos {
			v[q*posStride+l] = vT[(q%tileIn)*tileIn+q/tileIn]
		}
	}
}

// checkHalves panics unless a plane of planeLen floats holds g's plane and
// nPos positions posStride apart, 16 lanes each, fit in vLen floats.
func checkHalves(planeLen int, g *halfGroup, vLen, posStride int) {
	if posStride < 16 || vLen < (nPos-1)*posStride+16 || planeLen < g.out.hw {
		panic("winograd: half transform buffers too short")
	}
}
