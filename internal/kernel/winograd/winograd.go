// Package winograd computes 3x3, stride 1, pad 1 convolutions with the
// Winograd minimal-filtering algorithm F(4x4, 3x3) (Lavin & Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2015): every 6x6 input tile
// gives a 4x4 output tile with 36 multiplications per input/output channel
// pair instead of 144. The 36 products become 36 matrix products of
// transformed weights (K x C, packed once) by transformed input tiles (C x
// tiles), run by sgemm. conv.ForwardRef is the definition it is tested against.
package winograd

import (
	"github.com/dla-go/dla/internal/kernel/conv"
	"github.com/dla-go/dla/internal/kernel/freelist"
	"github.com/dla-go/dla/internal/kernel/parallel"
	"github.com/dla-go/dla/internal/kernel/sgemm"
	"github.com/dla-go/dla/internal/kernel/winograd/c16"
)

const (
	tileOut = 4 // output tile edge
	tileIn  = 6 // input tile edge: tileOut + 3 - 1
	nPos    = tileIn * tileIn
)

// Supported reports whether p is a convolution this package computes:
// 3x3 kernel, stride 1, padding 1, one group.
func Supported(p conv.Params) bool {
	return p.R == 3 && p.S == 3 && p.StrideH == 1 && p.StrideW == 1 && p.PadH == 1 && p.PadW == 1 && p.Groups == 1
}

// Plan is a convolution with its weights transformed and packed once. Run is
// safe for concurrent use and does not allocate in steady state.
type Plan struct {
	c, k, h, w     int
	tilesH, tilesW int
	u              [nPos]*sgemm.PackedA // transformed weights per tile position, K x C
	lanes          []laneMap            // for the lane transforms (lanes.go), or nil
	quarters       []quarterGroup       // for tile blocks (blocks.go), and for the phases where lanes is nil (quarters.go)
	scratch        []float32            // SetWeights' transformed weights before packing
	states         freelist.List[runState]
}

// NewPlan transforms the K x C x 3 x 3 weights w of convolution p (its batch
// size is ignored). It panics unless Supported(p).
func NewPlan(p conv.Params, w []float32) *Plan {
	if !Supported(p) {
		panic("winograd: unsupported convolution")
	}
	if err := p.Validate(); err != nil {
		panic(err.Error())
	}
	pl := &Plan{c: p.C, k: p.K, h: p.H, w: p.W,
		tilesH: (p.H + tileOut - 1) / tileOut, tilesW: (p.W + tileOut - 1) / tileOut}
	if t := pl.tilesH * pl.tilesW; t <= maxLaneTiles {
		// Where tile rows are a multiple of 4 tiles wide and the groups all
		// full, quarter groups are the lane maps' groups of 16 tiles.
		inRaster := pl.tilesW%4 == 0 && t%16 == 0
		if t >= minBlockTiles || inRaster {
			pl.quarters = quarterGroups(p.H, p.W)
		}
		if !inRaster {
			pl.lanes = laneMaps(p.H, p.W)
		}
	}
	u := make([]float32, nPos*p.K*p.C)
	pl.transform(w, u)
	for pos := range nPos {
		pl.u[pos] = sgemm.PackA(false, p.K, p.C, u[pos*p.K*p.C:], p.C)
	}
	pl.states.Max = freelist.MaxSmall
	pl.states.New = func() *runState {
		st := &runState{pl: pl}
		st.inputFn, st.gemmFn, st.outputFn = st.inputTasks, st.gemmTasks, st.outputTasks
		st.blockFn = st.blockTasks
		return st
	}
	return pl
}

// transform writes to u the F(4x4, 3x3) transforms of the K x C x 3 x 3
// weights w, position by position (36 x K x C), output channels split over
// the workers (training transforms every step).
func (pl *Plan) transform(w, u []float32) {
	if len(w) < pl.k*pl.c*9 {
		panic("winograd: weights too short")
	}
	parallel.For(pl.k, max(1, 4096/max(pl.c, 1)), func(lo, hi int) {
		var t [nPos]float64
		for k := lo; k < hi; k++ {
			for c := range pl.c {
				c16.Filter(w[(k*pl.c+c)*9:(k*pl.c+c)*9+9], &t)
				for pos, v := range t {
					u[(pos*pl.k+k)*pl.c+c] = float32(v)
				}
			}
		}
	})
}

// SetWeights replaces the plan's weights with w (same shape), reusing its
// packed memory: training plans once and updates the weights every step.
// It must not run concurrently with Run.
func (pl *Plan) SetWeights(w []float32) {
	if pl.scratch == nil {
		pl.scratch = make([]float32, nPos*pl.k*pl.c)
	}
	u := pl.scratch
	pl.transform(w, u)
	parallel.For(nPos, 1, func(lo, hi int) {
		for pos := lo; pos < hi; pos++ {
			pl.u[pos].Repack(false, u[pos*pl.k*pl.c:], pl.c)
		}
	})
}

// Reserve makes per-call state for n calls at once, so that calls
// overlapping later allocate nothing (see conv.Plan.Reserve).
func (pl *Plan) Reserve(n int) { pl.states.Fill(n) }

// tiles is the number of 4x4 output tiles of n images.
func (pl *Plan) tiles(n int) int { return n * pl.tilesH * pl.tilesW }

// columns is the columns of the transformed input and the products for n
// images: a column a tile, or 16 a quarter group in tile blocks.
func (pl *Plan) columns(n int) int { return max(pl.tiles(n), 16*n*len(pl.quarters)) }

// WorkspaceSize is the number of floats Run needs for n images: the
// transformed input (36 x C x columns) and the products (36 x K x columns).
func (pl *Plan) WorkspaceSize(n int) int { return nPos*(pl.c+pl.k)*pl.columns(n) + mPad }

// Run convolves n images x (N x C x H x W) into y (N x K x H x W) and applies
// epi (per-channel Scale/Shift, a residual shaped like y, ReLU; may be nil).
func (pl *Plan) Run(x, y []float32, n int, epi *conv.Epilogue, ws []float32) {
	hw := pl.h * pl.w
	pl.RunStrided(x, pl.c*hw, y, pl.k*hw, pl.k*hw, n, epi, ws)
}

// RunStrided is Run for images that are not packed back to back: image i of
// x starts at i*xStride, of y at i*yStride and of epi.Residual at
// i*resStride (each image itself C x H x W). The engine uses it to convolve a
// whole batch whose images sit in wider concatenation buffers.
func (pl *Plan) RunStrided(x []float32, xStride int, y []float32, yStride, resStride int, n int, epi *conv.Epilogue, ws []float32) {
	t := pl.tiles(n)
	hw := pl.h * pl.w
	if n < 1 || xStride < pl.c*hw || yStride < pl.k*hw || len(x) < (n-1)*xStride+pl.c*hw ||
		len(y) < (n-1)*yStride+pl.k*hw || len(ws) < pl.WorkspaceSize(n) {
		panic("winograd: buffer too short")
	}
	if epi != nil && epi.Residual != nil && (resStride < pl.k*hw || len(epi.Residual) < (n-1)*resStride+pl.k*hw) {
		panic("winograd: residual too short")
	}
	st := pl.states.Get()
	st.x, st.y, st.n, st.t, st.epi = x, y, n, t, epi
	st.xStride, st.yStride, st.resStride = xStride, yStride, resStride
	cols := pl.columns(n)
	st.v, st.m = ws[:nPos*pl.c*cols], ws[nPos*pl.c*cols:pl.WorkspaceSize(n)]
	if pl.blocks() > 0 && useLanes && useBlocks {
		st.runBlocks()
	} else {
		// Several chunks per worker, so a core slowed by other load does
		// not hold up the rest.
		chunks := 8 * parallel.Workers()
		parallel.For(n*pl.c, (n*pl.c+chunks-1)/chunks, st.inputFn)
		parallel.For(nPos, 1, st.gemmFn)
		parallel.For(n*pl.k, (n*pl.k+chunks-1)/chunks, st.outputFn)
	}
	st.x, st.y, st.v, st.m, st.epi = nil, nil, nil, nil, nil
	pl.states.Put(st)
}

// runState carries one Run's buffers to its task functions, which are bound
// once per state so parallel.For gets no new closure per call.
type runState struct {
	pl                        *Plan
	x, y, v, m                []float32
	n, t                      int
	xStride, yStride          int // floats from one image to the next
	resStride                 int
	epi                       *conv.Epilogue
	inputFn, gemmFn, outputFn func(lo, hi int)
	blockFn                   func(lo, hi int) // tile blocks (blocks.go)
}

// maxRow bounds the padded row a transform keeps on the stack; wider images
// (rare here: DLA's 3x3 stride-1 layers are at most 224 wide) take the same
// path in pieces of at most maxTiles tiles.
const (
	maxTiles = 64
	maxRow   = maxTiles*tileOut + 8 // 4*maxTiles+2 rounded up to whole vectors
	vec      = 8                    // columns per vector in the row kernels
)

// vecCols rounds n up to whole vectors: the row kernels then run only their
// vector loop, computing a few unused columns in scratch rows.
func vecCols(n int) int { return (n + vec - 1) / vec * vec }

const (
	// maxChunk bounds the tiles the output pass transforms at once.
	maxChunk = 64
	// mPad floats after the products let the output passes read whole
	// vectors past the last tile (values they then ignore).
	mPad = 16
	// maxLaneTiles bounds the tiles per image the lane transforms take (up
	// to 64x64): up to there they beat the row transforms on every DLA
	// layer measured.
	maxLaneTiles = 256
)

// inputTasks transforms the input tiles of (image, channel) pairs lo..hi into
// v, laid out [position][channel][tile]. Per row of tiles it gathers the six
// padded input rows, applies B^T down the columns (all x at once) and splits
// each resulting row into the six tile columns (q[e][t] = row[4t+e]); then,
// for a chunk of whole tile rows at once (up to maxChunk tiles), it applies
// B^T across those columns and copies the 36 positions into v.
func (st *runState) inputTasks(lo, hi int) {
	pl := st.pl
	tpi := pl.tilesH * pl.tilesW
	if (pl.quarters != nil || pl.lanes != nil) && useLanes {
		hw := pl.h * pl.w
		for ic := lo; ic < hi; ic++ {
			img, c := ic/pl.c, ic%pl.c
			off := img*st.xStride + c*hw
			plane, v := st.x[off:off+hw], st.v[c*st.t+img*tpi:]
			if pl.lanes != nil {
				for g := range pl.lanes {
					inputTiles16(plane, &pl.lanes[g], v[16*g:], pl.c*st.t)
				}
				continue
			}
			for g := range pl.quarters {
				inputQuarters16(plane, &pl.quarters[g], v[16*g:], pl.c*st.t)
			}
		}
		return
	}
	var rows, cols [tileIn * maxRow]float32
	var q [tileIn * tileIn * maxChunk]float32 // [i][e][t]: tile columns of the column-transformed rows
	var qv [tileIn * maxChunk]float32         // [j][t]: one row i of finished positions
	rowsPer := 1
	if pl.tilesW <= maxTiles {
		rowsPer = max(1, maxChunk/pl.tilesW)
	}
	for ic := lo; ic < hi; ic++ {
		img, c := ic/pl.c, ic%pl.c
		off := img*st.xStride + c*pl.h*pl.w
		plane := st.x[off : off+pl.h*pl.w]
		for ty0 := 0; ty0 < pl.tilesH; ty0 += rowsPer {
			nrows := min(rowsPer, pl.tilesH-ty0)
			for tx0 := 0; tx0 < pl.tilesW; tx0 += maxTiles {
				nt := min(maxTiles, pl.tilesW-tx0)
				n := nrows * nt         // nrows > 1 only when nt == tilesW: the chunk's tiles are contiguous
				width := nt*tileOut + 2 // padded columns x0 .. x0+4*nt+1
				x0 := tx0*tileOut - 1
				for dy := range nrows {
					ty := ty0 + dy
					for i := range tileIn {
						r := rows[i*maxRow : i*maxRow+width]
						clear(r)
						yy := ty*tileOut - 1 + i
						if yy < 0 || yy >= pl.h {
							continue
						}
						a, b := max(x0, 0), min(x0+width, pl.w)
						copy(r[a-x0:], plane[yy*pl.w+a:yy*pl.w+b])
					}
					inputRows(rows[:], maxRow, cols[:], maxRow, vecCols(width))
					for i := range tileIn {
						deinterleave(q[i*tileIn*maxChunk+dy*nt:], maxChunk, cols[i*maxRow:i*maxRow+width], nt)
					}
				}
				tile0 := img*tpi + ty0*pl.tilesW + tx0
				for i := range tileIn {
					inputRows(q[i*tileIn*maxChunk:], maxChunk, qv[:], maxChunk, vecCols(n))
					for j := range tileIn {
						base := ((i*tileIn+j)*pl.c+c)*st.t + tile0
						copy(st.v[base:base+n], qv[j*maxChunk:j*maxChunk+n])
					}
				}
			}
		}
	}
}

// gemmTasks multiplies, per tile position, the packed weights by the
// transformed input: m[pos] (K x tiles) = u[pos] (K x C) * v[pos] (C x tiles).
func (st *runState) gemmTasks(lo, hi int) {
	pl := st.pl
	for pos := lo; pos < hi; pos++ {
		pl.u[pos].Mul(st.t, st.v[pos*pl.c*st.t:], st.t, st.m[pos*pl.k*st.t:], st.t, nil)
	}
}

// outputTasks turns the products of (image, output channel) pairs lo..hi
// back into 4x4 output tiles, applies the epilogue and writes y. Per row of
// tiles it applies A^T down each tile column (six product rows, all tiles at
// once), then across each of the four resulting rows, and interleaves the
// four outputs of every tile into the image row.
func (st *runState) outputTasks(lo, hi int) {
	pl := st.pl
	tpi := pl.tilesH * pl.tilesW
	var s [tileOut * tileIn * maxChunk]float32  // [r][j][t]
	var o [tileOut * tileOut * maxChunk]float32 // [r][j][t]
	var rowBuf [tileOut * maxTiles]float32      // one output row of one tile row
	for ik := lo; ik < hi; ik++ {
		img, k := ik/pl.k, ik%pl.k
		out, res, scale, shift, relu := st.epilogue(img, k)
		if (pl.quarters != nil || pl.lanes != nil) && useLanes {
			m := st.m[k*st.t+img*tpi:]
			if pl.lanes != nil {
				for g := range pl.lanes {
					outputTiles16(m[16*g:], pl.k*st.t, out, res, &pl.lanes[g], scale, shift, relu)
				}
				continue
			}
			for g := range pl.quarters {
				outputQuarters16(m[16*g:], pl.k*st.t, out, res, &pl.quarters[g], scale, shift, relu)
			}
			continue
		}
		// Whole tile rows go through the transform together (up to
		// maxChunk tiles), so small images make few, full-vector calls.
		rowsPer := 1
		if pl.tilesW <= maxTiles {
			rowsPer = max(1, maxChunk/pl.tilesW)
		}
		for ty0 := 0; ty0 < pl.tilesH; ty0 += rowsPer {
			nrows := min(rowsPer, pl.tilesH-ty0)
			for tx0 := 0; tx0 < pl.tilesW; tx0 += maxTiles {
				nt := min(maxTiles, pl.tilesW-tx0)
				n := nrows * nt // tiles in this chunk: nrows > 1 only when nt == tilesW
				vc := vecCols(n)
				tile0 := img*tpi + ty0*pl.tilesW + tx0
				for j := range tileIn {
					base := (j*pl.k+k)*st.t + tile0
					outputRows(st.m[base:], tileIn*pl.k*st.t, s[j*maxChunk:], tileIn*maxChunk, vc)
				}
				for r := range tileOut {
					outputRows(s[r*tileIn*maxChunk:], maxChunk, o[r*tileOut*maxChunk:], maxChunk, vc)
				}
				x0 := tx0 * tileOut
				seg := min(nt*tileOut, pl.w-x0) // columns this run of tiles covers
				for dy := range nrows {
					for r := range tileOut {
						yy := (ty0+dy)*tileOut + r
						if yy >= pl.h {
							break
						}
						interleave(rowBuf[:], o[r*tileOut*maxChunk+dy*nt:], maxChunk, nt)
						var resRow []float32
						if res != nil {
							resRow = res[yy*pl.w+x0 : yy*pl.w+x0+seg]
						}
						epilogueRow(out[yy*pl.w+x0:yy*pl.w+x0+seg], rowBuf[:seg], scale, shift, resRow, relu)
					}
				}
			}
		}
	}
}

// epilogue is output channel k of image img, its residual (or nil) and
// the epilogue's scale, shift and ReLU for it.
func (st *runState) epilogue(img, k int) (out, res []float32, scale, shift float32, relu bool) {
	hw := st.pl.h * st.pl.w
	off := img*st.yStride + k*hw
	out, scale = st.y[off:off+hw], 1
	if e := st.epi; e != nil {
		if e.Scale != nil {
			scale = e.Scale[k]
		}
		if e.Shift != nil {
			shift = e.Shift[k]
		}
		if e.Residual != nil {
			off := img*st.resStride + k*hw
			res = e.Residual[off : off+hw]
		}
		relu = e.ReLU
	}
	return out, res, scale, shift, relu
}

// deinterleave splits a transformed row into the six tile columns:
// q[e*stride+t] = col[4t+e] for the nt tiles (so the row pass can run
// across tiles with whole vectors).
func deinterleave(q []float32, stride int, col []float32, nt int) {
	col = col[:tileOut*(nt-1)+tileIn]
	q0, q1, q2 := q[0:nt], q[stride:stride+nt], q[2*stride:2*stride+nt]
	q3, q4, q5 := q[3*stride:3*stride+nt], q[4*stride:4*stride+nt], q[5*stride:5*stride+nt]
	for t := range q0 {
		e := col[tileOut*t : tileOut*t+tileIn : tileOut*t+tileIn]
		q0[t], q1[t], q2[t], q3[t], q4[t], q5[t] = e[0], e[1], e[2], e[3], e[4], e[5]
	}
}

// interleave writes the four outputs of each tile next to each other:
// row[4t+j] = o[j*stride+t].
func interleave(row, o []float32, stride, nt int) {
	o0, o1, o2, o3 := o[0:nt], o[stride:stride+nt], o[2*stride:2*stride+nt], o[3*stride:3*stride+nt]
	for t := range o0 {
		r := row[tileOut*t : tileOut*t+tileOut : tileOut*t+tileOut]
		r[0], r[1], r[2], r[3] = o0[t], o1[t], o2[t], o3[t]
	}
}

// epilogueRow writes dst = src*scale + shift (+ res) (then max(., 0) if relu).
func epilogueRow(dst, src []float32, scale, shift float32, res []float32, relu bool) {
	src = src[:len(dst)]
	if res != nil {
		res = res[:len(dst)]
		for i, v := range src {
			v = v*scale + shift + res[i]
			if relu {
				v = max(v, 0)
			}
			dst[i] = v
		}
		return
	}
	for i, v := range src {
		v = v*scale + shift
		if relu {
			v = max(v, 0)
		}
		dst[i] = v
	}
}
