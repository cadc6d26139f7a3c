package conv

// The im2col matrix of one image and group has a row per (c, r, s) of the
// group's weights (cg*R*S rows) and a column per output position (OH*OW):
// entry = x[c][oh*StrideH+r-PadH][ow*StrideW+s-PadW], or 0 in the padding.
// Its row order matches the weight layout, so the GEMM is W_g (kg x kdim)
// times this matrix.

// im2colRow writes into dst the values of tap (r, s) of one input plane for
// the len(dst) output positions starting at col0.
func (g *geom) im2colRow(dst, plane []float32, r, s, col0 int) {
	oh, ow := col0/g.ow, col0%g.ow
	for j := 0; j < len(dst); {
		n := min(g.ow-ow, len(dst)-j) // the run stays in one output row
		seg := dst[j : j+n]
		ih := oh*g.StrideH + r - g.PadH
		if ih < 0 || ih >= g.H {
			clear(seg)
		} else {
			row := plane[ih*g.W : (ih+1)*g.W]
			iw0 := ow*g.StrideW + s - g.PadW
			if g.StrideW == 1 {
				lo := min(max(-iw0, 0), n)
				hi := min(max(g.W-iw0, lo), n)
				clear(seg[:lo])
				if lo < hi {
					copy(seg[lo:hi], row[iw0+lo:iw0+hi])
				}
				clear(seg[hi:])
			} else {
				for t := range seg {
					if iw := iw0 + t*g.StrideW; iw >= 0 && iw < g.W {
						seg[t] = row[iw]
					} else {
						seg[t] = 0
					}
				}
			}
		}
		j += n
		ow = 0
		oh++
	}
}

// col2imRow is the adjoint of im2colRow: it adds src back into the plane.
func (g *geom) col2imRow(src, plane []float32, r, s, col0 int) {
	oh, ow := col0/g.ow, col0%g.ow
	for j := 0; j < len(src); {
		n := min(g.ow-ow, len(src)-j)
		ih := oh*g.StrideH + r - g.PadH
		if ih >= 0 && ih < g.H {
			seg := src[j : j+n]
			row := plane[ih*g.W : (ih+1)*g.W]
			iw0 := ow*g.StrideW + s - g.PadW
			if g.StrideW == 1 {
				lo := min(max(-iw0, 0), n)
				hi := min(max(g.W-iw0, lo), n)
				if lo < hi {
					dst := row[iw0+lo : iw0+hi]
					for t, v := range seg[lo:hi] {
						dst[t] += v
					}
				}
			} else {
				for t, v := range seg {
					if iw := iw0 + t*g.StrideW; iw >= 0 && iw < g.W {
						row[iw] += v
					}
				}
			}
		}
		j += n
		ow = 0
		oh++
	}
}

// im2colTile fills b (kdim rows of width tc, row stride tc) with columns
// col0..col0+tc of the im2col matrix of the cg planes starting at xg.
func (g *geom) im2colTile(b, xg []float32, col0, tc int) {
	i := 0
	for c := range g.cg {
		plane := xg[c*g.hw : (c+1)*g.hw]
		for r := range g.R {
			for s := range g.S {
				g.im2colRow(b[i*tc:(i+1)*tc], plane, r, s, col0)
				i++
			}
		}
	}
}

// im2colPlane writes the R*S full rows (width OH*OW) of one input plane.
func (g *geom) im2colPlane(b, plane []float32) {
	for r := range g.R {
		for s := range g.S {
			i := r*g.S + s
			g.im2colRow(b[i*g.ohow:(i+1)*g.ohow], plane, r, s, 0)
		}
	}
}

// col2imPlane overwrites one input plane with the sum of its R*S rows.
func (g *geom) col2imPlane(b, plane []float32) {
	clear(plane)
	for r := range g.R {
		for s := range g.S {
			i := r*g.S + s
			g.col2imRow(b[i*g.ohow:(i+1)*g.ohow], plane, r, s, 0)
		}
	}
}
