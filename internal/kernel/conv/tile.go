package conv

// The blocked direct strategy computes a convolution without im2col. The
// padded input of one image is rearranged once into stride phases: plane
// (c, pr, pc) holds padded rows pr, pr+StrideH, ... and columns pc,
// pc+StrideW, ... of channel c, so for every tap (c, r, s) the inputs of
// consecutive output columns are consecutive floats at a fixed offset from
// the output position. A tile kernel then sums, for MR output channels and
// NR output columns, weight times input over all taps, and applies the
// epilogue before storing.

// Tier names the instruction set the blocked and bcast kernels run on here:
// "avx2" where they run as AVX2 pieces, or "none" where they do not run and
// the GEMM paths take their layers.
func Tier() string {
	switch {
	case haveTile:
		return tileISA
	case haveAVX2:
		return "avx2"
	}
	return "none"
}

// tileNR is the column width of the MR-row tile kernel (16 accumulators).
func tileNR(mr int) int { return 256 / mr }

// tileGeneric is the definition of the tile kernels (see tile_amd64.s): for
// MR = mr rows and NR = tileNR(mr) columns whose bit is set in masks, with
// i = r*ldy + j/16*ystep + j%16,
//
//	y[i] = max(sum_t w[t*mr+r]*x[offs[t]+step*j] * scale[r] + shift[r] (+ res[i]), floor)
//
// (the assembly turns a NaN into floor; this returns it). Each 16 columns,
// one vector, land ystep floats after the previous: 16 within one output
// row, or a row's width when each vector computes its own output row.
func tileGeneric(mr, step, taps int, w []float32, offs []int, x []float32, masks uint64, y []float32, ldy, ystep int, scale, shift, res []float32, floor float32) {
	for r := range mr {
		for j := range tileNR(mr) {
			if masks>>j&1 == 0 {
				continue
			}
			var s float32
			for t := range taps {
				s += w[t*mr+r] * x[offs[t]+step*j]
			}
			s = s*scale[r] + shift[r]
			i := r*ldy + j/16*ystep + j%16
			if res != nil {
				s += res[i]
			}
			y[i] = max(s, floor)
		}
	}
}

// bcastK is the output channel count of the bcast kernels (see _asm); they
// come in 14 and 7 columns (a row of 28, 56 or 112 takes 14-column tiles;
// 7, 21 or 49 end on a 7-column one).
const bcastK = 32

// bcastBlock is the output channel count of one bcast tile here: bcastK, or
// 16 on the AVX2 pieces, whose weights are then packed 16 channels a tap, so
// that a piece reads them contiguously, and which so also take layers of 16
// channels (DLA's stem).
func bcastBlock() int {
	if haveAVX2 {
		return 16
	}
	return bcastK
}

// bcastGeneric is the definition of the bcast kernels: a kb-channel x
// cols-column tile with the epilogue (res, when not nil, laid out like y),
// written to the first n columns of kb output rows ldy apart.
func bcastGeneric(kb, cols, step, taps int, w []float32, offs []int, x []float32, y []float32, ldy, n int, scale, shift, res []float32, floor float32) {
	for j := range min(n, cols) {
		for k := range kb {
			var s float32
			for t := range taps {
				s += w[t*kb+k] * x[offs[t]+step*j]
			}
			s = s*scale[k] + shift[k]
			if res != nil {
				s += res[k*ldy+j]
			}
			y[k*ldy+j] = max(s, floor)
		}
	}
}

// bcast16Generic is the definition of the fused stem's 16-channel kernels
// (stem.go): n pixels, each pixel's 16 channels stored together, the inputs
// of adjacent pixels stride floats apart (the assembly turns a NaN into
// floor; this returns it).
func bcast16Generic(stride int, w []float32, offs []int, x, y []float32, n int, shift []float32, floor float32) {
	for j := range n {
		for k := range 16 {
			var s float32
			for t, o := range offs {
				s += w[t*16+k] * x[o+stride*j]
			}
			y[16*j+k] = max(s+shift[k], floor)
		}
	}
}

// phaseGeom is the layout of the rearranged input of one image.
type phaseGeom struct {
	hph, wph int // rows and columns of one phase plane
	pitch    int // floats from one phase row to the next (>= wph; zeros between)
	plane    int // hph*pitch
	chanLen  int // StrideH*StrideW planes per channel
	len      int // floats for all channels, plus slack for the last tile's over-read
}

// flatTiles reports whether tiles run along the flattened phase grid
// (q = oh*wph + ow, the few columns ow >= OW computed and dropped) instead of
// along single output rows: narrow outputs would leave most of a row tile idle.
func (g *geom) flatTiles(mr int) bool { return 2*g.ow < tileNR(mr) }

// rowVectors reports whether narrow outputs (9 to 16 columns: DLA's 14x14)
// are tiled a vector per output row instead: phase rows 16 floats apart, so
// each of a tile's vectors computes one output row and stores it in place,
// where flat tiles need a scatter of their columns in Go.
func (g *geom) rowVectors(mr int) bool {
	return g.flatTiles(mr) && g.ow > 8 && ceilDiv(g.W+2*g.PadW, g.StrideW) <= 16
}

// phases lays out the phase planes with pitch 16 for row-vector tiles
// (mr: their kernel height; 0 for the bcast kernels) and no gaps otherwise.
func (g *geom) phases(mr int) phaseGeom {
	var ph phaseGeom
	ph.hph = ceilDiv(g.H+2*g.PadH, g.StrideH)
	ph.wph = ceilDiv(g.W+2*g.PadW, g.StrideW)
	ph.pitch = ph.wph
	if mr > 0 && g.rowVectors(mr) {
		ph.pitch = 16
	}
	ph.plane = ph.hph * ph.pitch
	ph.chanLen = g.StrideH * g.StrideW * ph.plane
	// A tile reads at most 2*NR floats past its last valid input, a flat
	// tile's dropped columns at most one phase row more, and a row-vector
	// tile's rows past the output up to three rows more.
	ph.len = g.C*ph.chanLen + 2*tileNR(4) + 4*ph.pitch
	return ph
}

// stride2Tiles reports whether the stride-2 kernels apply: they read the
// zero-padded input directly (no column phases), one output row per tile.
func (g *geom) stride2Tiles(mr int) bool { return g.StrideW == 2 && !g.flatTiles(mr) }

// tileSource is the geometry the tile input is laid out by: g itself (stride
// phases), or g with unit strides (a plain zero-padded copy) for the
// stride-2 kernels.
func (g *geom) tileSource() geom {
	src := *g
	if g.stride2Tiles(tileMR(g.kg)) {
		src.StrideH, src.StrideW = 1, 1
	}
	return src
}

// tileMR is the kernel height for groups of kg output channels (0: none fits).
func tileMR(kg int) int {
	switch {
	case kg%8 == 0:
		return 8
	case kg%4 == 0:
		return 4
	}
	return 0
}

// buildPhases writes the stride phases of input plane src into dst (one
// channel's chanLen floats), zero where they fall in the padding.
func (g *geom) buildPhases(dst, src []float32, ph *phaseGeom) {
	switch {
	case g.StrideH == 1 && g.StrideW == 1:
		g.buildRows(dst, src, ph, 0)
	case g.StrideW == 2:
		g.buildPhases2(dst, src, ph)
	default:
		g.buildPhasesAny(dst, src, ph)
	}
}

// buildRows is buildPhases for unit strides: ph.hph rows of the zero-padded
// plane from padded row first on, its input rows written by one padRows
// call.
func (g *geom) buildRows(dst, src []float32, ph *phaseGeom, first int) {
	// Rows i with input row first+i-PadH in [0, H).
	top := min(max(g.PadH-first, 0), ph.hph)
	rows := max(min(g.H+g.PadH-first, ph.hph)-top, 0)
	clear(dst[:top*ph.pitch])
	if rows > 0 { // else the rows may all lie in the padding, top-PadH < 0
		ih := first + top - g.PadH
		padRows(dst[top*ph.pitch:(top+rows)*ph.pitch], src[ih*g.W:(ih+rows)*g.W], g.W, rows, g.PadW, ph.pitch)
	}
	clear(dst[(top+rows)*ph.pitch : ph.hph*ph.pitch])
}

// padRowsGeneric is the definition of padRows: rows rows of pitch floats,
// each padL zeros, a w-float row of src and zeros to the end.
func padRowsGeneric(dst, src []float32, w, rows, padL, pitch int) {
	for r := range rows {
		row := dst[r*pitch : (r+1)*pitch]
		n := copy(row[min(padL, pitch):], src[r*w:(r+1)*w])
		clear(row[:min(padL, pitch)])
		clear(row[min(padL, pitch)+n:])
	}
}

// buildPhasesAny is buildPhases for any stride (a row at a time for unit
// column stride, an element at a time above).
func (g *geom) buildPhasesAny(dst, src []float32, ph *phaseGeom) {
	for pr := range g.StrideH {
		for pc := range g.StrideW {
			plane := dst[(pr*g.StrideW+pc)*ph.plane : (pr*g.StrideW+pc+1)*ph.plane]
			for i := range ph.hph {
				if ph.pitch > ph.wph {
					clear(plane[i*ph.pitch+ph.wph : (i+1)*ph.pitch])
				}
				row := plane[i*ph.pitch : i*ph.pitch+ph.wph]
				ih := i*g.StrideH + pr - g.PadH
				if ih < 0 || ih >= g.H {
					clear(row)
					continue
				}
				in := src[ih*g.W : (ih+1)*g.W]
				if g.StrideW == 1 {
					padRows(row, in, g.W, 1, g.PadW, len(row))
					continue
				}
				// Columns j with iw = j*StrideW+pc-PadW inside the row, found
				// without a test per element.
				lo := min(ceilDiv(max(g.PadW-pc, 0), g.StrideW), len(row))
				hi := max(min(ceilDiv(g.W+g.PadW-pc, g.StrideW), len(row)), lo)
				clear(row[:lo])
				iw := lo*g.StrideW + pc - g.PadW
				for j := lo; j < hi; j++ {
					row[j] = in[iw]
					iw += g.StrideW
				}
				clear(row[hi:])
			}
		}
	}
}

// buildPhases2 is buildPhases for column stride 2: each input row is split
// once into its even and its odd columns, which are the rows of the two
// column phases. Column j of phase pc holds input column 2j+pc-PadW, so with
// PadW = 2q the evens fill phase 0 from j = q and the odds phase 1 from q;
// with PadW = 2q+1 the evens fill phase 1 from q and the odds phase 0 from
// q+1.
func (g *geom) buildPhases2(dst, src []float32, ph *phaseGeom) {
	q := g.PadW / 2
	evenPC, evenLo, oddLo := 0, q, q
	if g.PadW%2 == 1 {
		evenPC, oddLo = 1, q+1
	}
	for pr := range g.StrideH {
		pe := dst[(pr*2+evenPC)*ph.plane : (pr*2+evenPC+1)*ph.plane]
		po := dst[(pr*2+1-evenPC)*ph.plane : (pr*2+2-evenPC)*ph.plane]
		// The pads and the rows outside the image: one clear of each plane
		// costs less than four short loops a row.
		clear(pe)
		clear(po)
		// Rows i with input row i*StrideH+pr-PadH in [0, H).
		lo := min(ceilDiv(max(g.PadH-pr, 0), g.StrideH), ph.hph)
		hi := max(min(ceilDiv(g.H+g.PadH-pr, g.StrideH), ph.hph), lo)
		if hi > lo {
			ih := lo*g.StrideH + pr - g.PadH
			split2Rows(pe[lo*ph.pitch+evenLo:], po[lo*ph.pitch+oddLo:], src[ih*g.W:], g.W, hi-lo, ph.pitch, g.StrideH*g.W)
		}
	}
}

// split2RowsGeneric is the definition of split2Rows: split2Generic on rows
// rows of n floats, stride floats apart in src and pitch apart in even and
// odd.
func split2RowsGeneric(even, odd, src []float32, n, rows, pitch, stride int) {
	for r := range rows {
		split2Generic(even[r*pitch:r*pitch+(n+1)/2], odd[r*pitch:r*pitch+n/2], src[r*stride:r*stride+n])
	}
}

// split2Generic splits one row, split2RowsGeneric's and split2AVX512's: the
// even-indexed floats of src to even, the odd-indexed to odd (len(src)
// floats in all).
func split2Generic(even, odd, src []float32) {
	for i, v := range src {
		if i%2 == 0 {
			even[i/2] = v
		} else {
			odd[i/2] = v
		}
	}
}

// tileOffsets lists, for each tap (c, r, s) of a group in weight order, where
// its input for output (0, 0) sits relative to the group's first plane.
func (g *geom) tileOffsets(ph *phaseGeom) []int {
	offs := make([]int, 0, g.kdim)
	for c := range g.cg {
		for r := range g.R {
			for s := range g.S {
				planeIdx := (r%g.StrideH)*g.StrideW + s%g.StrideW
				offs = append(offs, c*ph.chanLen+planeIdx*ph.plane+(r/g.StrideH)*ph.pitch+s/g.StrideW)
			}
		}
	}
	return offs
}

// packTile writes the weights of each MR-channel block tap-major into dst
// (K*kdim floats).
func (g *geom) packTile(dst, w []float32, mr int) {
	i := 0
	for k0 := 0; k0 < g.K; k0 += mr {
		for t := range g.kdim {
			for r := range mr {
				dst[i] = w[(k0+r)*g.kdim+t]
				i++
			}
		}
	}
}
