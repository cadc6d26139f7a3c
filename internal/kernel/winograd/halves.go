package winograd

// Half groups: on planes of many tiles the tile blocks (blocks.go) read the
// input windows with plain loads instead of gathers. A half is up to 8
// neighbouring tiles of one tile row: window row r of its tile t starts 4t
// floats after that of tile 0, so two 16-float loads from one point hold
// column x of that row for all 8 tiles (every fourth float). A group is two
// halves, lanes 0-7 and 8-15 of inputHalves16AVX512.

// halfGroup maps the 16 lanes of one call of inputHalves16AVX512 and of
// outputHalves16AVX512 to an h x w plane. Input: lane 8h+t reads window
// row r, column x at plane[off[6h+r] + x + 4t] when bit 4t%16 of
// mask[((6h+r)*6+x)*2 + 4t/16] is set, and zero otherwise (padding, or a
// lane with no tile). Output: row r, column x of lane 8h+t's tile goes to
// plane[outOff[4h+r] + 4t + x] when bit (4t+x)%16 of outMask[(4h+r)*2 +
// (4t+x)/16] is set.
type halfGroup struct {
	hw      int
	off     [2 * tileIn]int32
	mask    [2 * tileIn * tileIn * 2]uint16
	outOff  [2 * tileOut]int32
	outMask [2 * tileOut * 2]uint16
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
	g := halfGroup{hw: h * w}
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
		for r := range tileOut {
			y := tileOut*hf.ty + r
			if y >= h || hf.n == 0 {
				continue
			}
			x0 := tileOut * hf.tx0
			g.outOff[4*hi+r] = int32(y*w + x0)
			for e := range tileOut * hf.n {
				if x0+e < w {
					g.outMask[(4*hi+r)*2+e/16] |= 1 << (e % 16)
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

// outputHalves16Generic is the definition of outputHalves16AVX512: Y =
// A^T M A for the 16 lanes of g (position q of lane l at mm[q*posStride+l]),
// then the epilogue, written where g says.
func outputHalves16Generic(mm []float32, posStride int, y, res []float32, g *halfGroup, scale, shift float32, relu bool) {
	var prod, am, amT [nPos]float32
	var yT [tileOut * tileIn]float32
	for l := range 16 {
		hi, t := l/8, l%8
		for q := range nPos {
			prod[q] = mm[q*posStride+l]
		}
		outputRowsGeneric(prod[:], tileIn, am[:], tileIn, tileIn) // A^T M, 4 x 6
		transpose6(amT[:], am[:])                                 // 6 x 4, in rows of 6
		outputRowsGeneric(amT[:], tileIn, yT[:], tileIn, tileOut) // (A^T M A)^T
		for r := range tileOut {
			for x := range tileOut {
				e := 4*t + x
				if g.outMask[(4*hi+r)*2+e/16]>>(e%16)&1 == 0 {
					continue
				}
				i := int(g.outOff[4*hi+r]) + e
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

// checkHalves panics unless a plane of planeLen floats holds g's plane and
// nPos positions posStride apart, 16 lanes each, fit in vLen floats.
func checkHalves(planeLen int, g *halfGroup, vLen, posStride int) {
	if posStride < 16 || vLen < (nPos-1)*posStride+16 || planeLen < g.hw {
		panic("winograd: half transform buffers too short")
	}
}
