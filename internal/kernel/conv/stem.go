package conv

import (
	"math"

	"github.com/dla-go/dla/internal/kernel/freelist"
	"github.com/dla-go/dla/internal/kernel/parallel"
	"github.com/dla-go/dla/internal/kernel/winograd/c16"
	"github.com/dla-go/dla/internal/kernel/winograd/row7"
)

// Stem computes three convolutions in a row as one step, DLA's stem: a
// convolution to 16 channels (7x7, 3->16 at full resolution), one from 16
// to 16 (3x3) and one from 16 channels at stride 2 (3x3 16->32). The two
// 16-channel activations between them are kept channel-interleaved (pixel
// by pixel, 16 floats each, as ONNX Runtime's NCHW16c) inside a zero border,
// in the workspace: a 3x3 tile then reads three row streams instead of 48
// (16 planes x 3 rows, more than the hardware prefetcher follows at
// 224x224), needs no padded copy, and the 16-channel kernels store a pixel
// per vector with no transpose. Alone, each layer's kernel measured 4-10%
// faster than the planar kernels it replaces (docs/performance.md).
//
// Two of the layers run Winograd algorithms where their shapes are DLA's,
// each faster than its direct kernel: a first layer 7x7 with padding 3
// runs F(2, 7) along its rows (package row7), a middle layer 3x3 with
// padding 1 F(4x4, 3x3) (package c16, whose pixels are one vector as here).
//
// Each layer's epilogue adds its shift and, with ReLU, clamps at zero (the
// batch norms are folded into the weights). A Stem may run concurrently.
type Stem struct {
	p          [3]Params // one image each
	w          [3][]float32
	offs       [3][]int
	shift      [3][]float32
	floor      [3]float32
	ones       []float32 // the last layer's kernels' scale (all ones)
	row7Filter []float32 // the first layer's F(2, 7) filter (row7.PackFilter), or nil
	c16Filter  []float32 // the middle layer's F(4x4, 3x3) filter (c16.PackFilter), or nil

	// The layout in the workspace of one image: the padded input planes
	// (planar, in: p[0] read as the blocked kernels' copy), then the two
	// interleaved activations with their borders. With F(2, 7) the
	// transformed input rows take b's place until the first layer is done.
	src  geom
	in   phaseGeom
	a, b interleaved
	rows rowBlocks
	// units are the task counts of Run's passes: the input rows, then
	// each layer's rows (of Winograd tiles) or, for the last, its rows
	// times its bcastBlock-channel blocks.
	units  [4]int
	states freelist.List[stemState]
}

// rowBlocks is the layout of the input rows transformed for row7.Multiply:
// every padded input row of every channel (the input's rows -3 to h+4, two
// more than the padding so that the last call's three output rows have
// theirs), each as blocks of row7.Block tiles.
type rowBlocks struct {
	off, n      int // floats from the workspace start; rows, channels included
	blocks, len int // blocks per row; floats of one row, blocks*row7.BlockLen
}

// interleaved is the layout of a 16-channel activation stored pixel by
// pixel inside a zero border of padH rows and padW pixels.
type interleaved struct {
	h, w, padH, padW int // the activation and its border
	off, len         int // floats from the workspace start; with slack
}

func (l interleaved) pitch() int { return 16 * (l.w + 2*l.padW) }

// at is the index of pixel (row, col) of the activation (border excluded).
func (l interleaved) at(row, col int) int {
	return l.off + (row+l.padH)*l.pitch() + 16*(col+l.padW)
}

// stemSlack follows each layout: a tile computes, and drops, up to 27
// pixels past a row's end (26 at stride 2), so it reads up to 16*27 floats
// past the padded activation, which must not reach into the next one while
// that is being written.
const stemSlack = 16 * 28

// StemFits reports whether p[0..2] form a stem the fused kernels compute,
// with the Winograd algorithms or not: groups of 1, p[0] to 16 channels at
// stride 1, p[1] 16->16 at stride 1, p[2] from 16 channels to a multiple of
// 32 at stride 2, each reading the previous one's output. Without AVX-512
// the first two layers have only their Winograd kernels (row7, c16), so
// their shapes must be DLA's and winograd set.
func StemFits(p [3]Params, winograd bool) bool {
	for i, q := range p {
		q.N = 1
		if q.Validate() != nil || q.Groups != 1 {
			return false
		}
		if i > 0 && (q.C != 16 || q.H != p[i-1].OutH() || q.W != p[i-1].OutW()) {
			return false
		}
	}
	shape := p[0].K == 16 && p[0].StrideH == 1 && p[0].StrideW == 1 &&
		p[1].K == 16 && p[1].StrideH == 1 && p[1].StrideW == 1 &&
		p[2].K%bcastK == 0 && p[2].StrideH == 2 && p[2].StrideW == 2
	return shape && (haveTile || haveAVX2 && winograd && row7Fits(p[0]) && c16Fits(p[1]))
}

// row7Fits reports whether the first layer runs F(2, 7) (package row7).
func row7Fits(p Params) bool {
	return p.R == 7 && p.S == 7 && p.PadH == 3 && p.PadW == 3 && row7.Fast
}

// c16Fits reports whether the middle layer runs F(4x4, 3x3) (package c16).
func c16Fits(p Params) bool {
	return p.R == 3 && p.S == 3 && p.PadH == 1 && p.PadW == 1 && c16.Fast
}

// NewStem packs the weights w[i] (K x C x R x S) of the three convolutions
// p[i] (which StemFits must accept) with their epilogues: shift[i] (K
// floats) added, then a clamp at zero where relu[i]. With winograd, the
// layers whose shapes allow it run the Winograd algorithms.
func NewStem(p [3]Params, w, shift [3][]float32, relu [3]bool, winograd bool) *Stem {
	if !StemFits(p, winograd) {
		panic("conv: not a stem")
	}
	s := &Stem{ones: make([]float32, p[2].K)}
	for i := range s.ones {
		s.ones[i] = 1
	}
	for i := range p {
		p[i].N = 1
		g := newGeom(p[i])
		checkLen("w", w[i], g.K*g.kdim)
		checkLen("shift", shift[i], g.K)
		s.p[i], s.shift[i] = p[i], shift[i][:g.K]
		s.floor[i] = float32(math.Inf(-1))
		if relu[i] {
			s.floor[i] = 0
		}
	}
	p0, p1, p2 := p[0], p[1], p[2]
	s.src = newGeom(p0)
	s.in = s.src.phases(0) // stride 1: one zero-padded plane per channel
	if winograd && row7Fits(p0) {
		s.row7Filter = row7.PackFilter(w[0][:16*s.src.kdim], p0.C)
		// row7.Input reads whole blocks of tiles, row7.M*row7.Block*blocks+6
		// floats: padded rows that wide hold every tile's samples (zeros past
		// the image), and no read reaches the next row, which another task
		// may be writing. Each row is only its task's scratch.
		tiles := ceilDiv(p0.W, row7.M)
		s.rows.blocks = ceilDiv(tiles, row7.Block)
		s.in.pitch = max(s.in.pitch, row7.M*row7.Block*s.rows.blocks+6)
		s.in.plane = s.in.hph * s.in.pitch
		s.in.chanLen = s.in.plane
		s.rows.len = s.rows.blocks * row7.BlockLen
		s.rows.n = (p0.H + 6 + row7.Rows - 1) * p0.C
	}
	s.a = interleaved{h: p1.H, w: p1.W, padH: p1.PadH, padW: p1.PadW, off: p0.C*s.in.plane + stemSlack}
	s.a.len = (p1.H+2*p1.PadH)*s.a.pitch() + stemSlack
	s.b = interleaved{h: p2.H, w: p2.W, padH: p2.PadH, padW: p2.PadW, off: s.a.off + s.a.len}
	s.b.len = (p2.H+2*p2.PadH)*s.b.pitch() + stemSlack
	s.rows.off = s.b.off

	// Layer 0 reads planes: taps (c, r, s) in weight order, packed as for
	// the blocked kernels. Layers 1 and 2 read interleaved pixels: taps
	// (r, s, c), so that consecutive taps read consecutive floats.
	if s.row7Filter == nil {
		s.w[0] = make([]float32, 16*s.src.kdim)
		s.src.packTile(s.w[0], w[0], 16)
		s.offs[0] = s.src.tileOffsets(&s.in)
	}
	if winograd && c16Fits(p1) {
		s.c16Filter = c16.PackFilter(w[1][:16*16*9])
	}
	for i, l := range []interleaved{s.a, s.b} {
		q := p[i+1]
		if i == 0 && s.c16Filter != nil {
			continue
		}
		kdim := 16 * q.R * q.S
		s.w[i+1], s.offs[i+1] = make([]float32, q.K*kdim), make([]int, kdim)
		blk := min(q.K, bcastBlock()) // layer 1: one block of 16; layer 2: blocks of 32 (16 on AVX2)
		for r := range q.R {
			for sc := range q.S {
				for c := range 16 {
					t := (r*q.S+sc)*16 + c
					s.offs[i+1][t] = r*l.pitch() + 16*sc + c
					for k := range q.K {
						s.w[i+1][k/blk*blk*kdim+t*blk+k%blk] = w[i+1][k*kdim+c*q.R*q.S+r*q.S+sc]
					}
				}
			}
		}
	}
	s.units = [4]int{p0.C * s.in.hph, p0.OutH(), p1.OutH(), p2.OutH() * p2.K / bcastBlock()}
	if s.row7Filter != nil {
		s.units[0], s.units[1] = s.rows.n, ceilDiv(p0.OutH(), row7.Rows)
	}
	if s.c16Filter != nil {
		s.units[2] = ceilDiv(p1.OutH(), 4) // rows of 4x4 tiles
	}
	s.states.Max = freelist.MaxSmall
	s.states.New = func() *stemState {
		st := &stemState{s: s}
		st.padFn, st.fn0, st.fn1, st.fn2 = st.pad, st.layer0, st.layer1, st.layer2
		if s.row7Filter != nil {
			st.padFn, st.fn0 = st.padTransform, st.layer0Winograd
		}
		if s.c16Filter != nil {
			st.fn1 = st.layer1Winograd
		}
		return st
	}
	return s
}

// Reserve makes per-call state for n calls at once (see Plan.Reserve).
func (s *Stem) Reserve(n int) { s.states.Fill(n) }

// Params is the stem's i-th convolution (one image).
func (s *Stem) Params(i int) Params { return s.p[i] }

// WorkspaceSize is the floats Run needs in ws.
func (s *Stem) WorkspaceSize() int {
	return max(s.b.off+s.b.len, s.rows.off+s.rows.n*s.rows.len)
}

// Run computes the stem of one image x (p[0]'s input, planar) into y (p[2]'s
// output, planar). ws must hold WorkspaceSize floats and must not be shared
// with a concurrent call.
func (s *Stem) Run(x, y, ws []float32) {
	p0, p2 := &s.p[0], &s.p[2]
	checkLen("x", x, p0.C*p0.H*p0.W)
	checkLen("y", y, p2.K*p2.OutH()*p2.OutW())
	checkLen("workspace", ws, s.WorkspaceSize())
	st := s.states.Get()
	st.x, st.y, st.ws = x, y, ws
	workers := parallel.Workers()
	parallel.For(s.units[0], ceilDiv(s.units[0], 4*workers), st.padFn)
	for i, fn := range []func(lo, hi int){st.fn0, st.fn1, st.fn2} {
		parallel.For(s.units[i+1], ceilDiv(s.units[i+1], 8*workers), fn)
	}
	st.x, st.y, st.ws = nil, nil, nil
	s.states.Put(st)
}

// stemState carries one Run call's buffers to its tasks, bound once so that
// parallel.For gets no new closure.
type stemState struct {
	s                    *Stem
	x, y, ws             []float32
	padFn, fn0, fn1, fn2 func(lo, hi int)
}

// pad writes padded rows [lo, hi) (channel-major) of the input planes.
func (st *stemState) pad(lo, hi int) {
	s := st.s
	g, row := &s.src, s.in
	row.hph = 1
	for u := lo; u < hi; u++ {
		c, r := u/s.in.hph, u%s.in.hph
		dst := st.ws[c*s.in.plane+r*s.in.pitch : c*s.in.plane+(r+1)*s.in.pitch]
		g.buildRows(dst, st.x[c*g.hw:(c+1)*g.hw], &row, r)
	}
}

// padTransform writes the transformed rows [lo, hi) (input row-major, then
// channel) for row7, each through its zero-padded row in the planes.
func (st *stemState) padTransform(lo, hi int) {
	s := st.s
	g, row := &s.src, s.in
	row.hph = 1
	for u := lo; u < hi; u++ {
		r, c := u/s.p[0].C, u%s.p[0].C
		t := st.ws[s.rows.off+u*s.rows.len:][:s.rows.len]
		if r >= s.in.hph { // the two rows past the padding
			clear(t)
			continue
		}
		padded := st.ws[c*s.in.plane+r*s.in.pitch:]
		g.buildRows(padded[:s.in.pitch], st.x[c*g.hw:(c+1)*g.hw], &row, r)
		row7.Input(padded, t, s.rows.blocks)
	}
}

// layer0Winograd computes groups [lo, hi) of row7.Rows output rows of the
// first convolution into activation a with F(2, 7), a block of tiles per
// call. A block that reaches past the activation's last row or column (at
// 224x224, the last group's two rows) goes through a scratch block.
func (st *stemState) layer0Winograd(lo, hi int) {
	const m = row7.M
	const pitch = row7.Block * m * 16 // the scratch block's rows
	s := st.s
	a, c, rb := s.a, s.p[0].C, s.rows
	var scratch [row7.Rows * pitch]float32
	tiles := ceilDiv(a.w, m)
	for grp := lo; grp < hi; grp++ {
		oh := grp * row7.Rows
		rows := min(row7.Rows, a.h-oh)
		for r := range rows {
			st.border(a, oh+r)
		}
		in := st.ws[rb.off+oh*c*rb.len:]
		for b := range rb.blocks {
			t0 := b * row7.Block
			n := min(row7.Block, tiles-t0)
			t := in[b*row7.BlockLen:]
			if rows == row7.Rows && m*(t0+n) <= a.w {
				row7.Multiply(n, t, rb.len, c, s.row7Filter, st.ws[a.at(oh, m*t0):], a.pitch(), s.shift[0], s.floor[0])
				continue
			}
			row7.Multiply(n, t, rb.len, c, s.row7Filter, scratch[:], pitch, s.shift[0], s.floor[0])
			cols := min(m*n, a.w-m*t0)
			for r := range rows {
				copy(st.ws[a.at(oh+r, m*t0):][:16*cols], scratch[r*pitch:])
			}
		}
	}
}

// border zeroes the border around row oh of l (and, for its first and last
// rows, the border rows above and below).
func (st *stemState) border(l interleaved, oh int) {
	row := st.ws[l.off+(oh+l.padH)*l.pitch() : l.off+(oh+l.padH+1)*l.pitch()]
	clear(row[:16*l.padW])
	clear(row[16*(l.padW+l.w):])
	if oh == 0 {
		clear(st.ws[l.off : l.off+l.padH*l.pitch()])
	}
	if oh == l.h-1 {
		end := l.off + (l.h+2*l.padH)*l.pitch()
		clear(st.ws[end-l.padH*l.pitch() : end])
	}
}

// layer0 computes output rows [lo, hi) of the first convolution from the
// padded planes into activation a, 28 pixels a tile.
func (st *stemState) layer0(lo, hi int) {
	s := st.s
	st.rows16(lo, hi, 0, s.a, func(oh, ow0 int) int { return oh*s.in.pitch + ow0 }, 1)
}

// layer1 computes output rows [lo, hi) of the second convolution from
// activation a into activation b.
func (st *stemState) layer1(lo, hi int) {
	a := st.s.a
	st.rows16(lo, hi, 1, st.s.b, func(oh, ow0 int) int { return a.off + oh*a.pitch() + 16*ow0 }, 16)
}

// layer1Winograd computes tile rows [lo, hi) of the second convolution
// from activation a into activation b with Winograd F(4x4, 3x3), c16.Group
// tiles at a time. Tiles that reach past the input's border or the output's
// edge (sizes not a multiple of 4) go through zero-padded copies.
func (st *stemState) layer1Winograd(lo, hi int) {
	s := st.s
	a, b := s.a, s.b
	var v [c16.VLen]float32
	var in [6 * 6 * 16]float32  // an edge tile's input, rows 6*16 floats apart
	var out [4 * 4 * 16]float32 // an edge tile's output, rows 4*16 floats apart
	tilesW := ceilDiv(b.w, 4)
	for tr := lo; tr < hi; tr++ {
		oh := 4 * tr
		rows := min(4, b.h-oh)
		for r := range rows {
			st.border(b, oh+r)
		}
		// Whole tiles, inside the output, read rows oh-1..oh+4 and columns
		// 4t-1..4t+4 of a: inside its border, which is 1 wide, as the
		// output is as large as a.
		whole := tilesW
		if rows < 4 {
			whole = 0
		} else if 4*tilesW > b.w {
			whole = tilesW - 1
		}
		for t0 := 0; t0 < tilesW; t0 += c16.Group {
			n := min(c16.Group, tilesW-t0)
			full := min(n, max(whole-t0, 0))
			if full > 0 {
				c16.Input(st.ws[a.at(oh-1, 4*t0-1):], a.pitch(), v[:], full)
			}
			for t := t0 + full; t < t0+n; t++ {
				st.edgeTile(in[:], a, oh-1, 4*t-1)
				c16.Input(in[:], 6*16, v[16*(t-t0):], 1)
			}
			c16.Multiply(v[:], s.c16Filter)
			if full > 0 {
				c16.Output(v[:], full, st.ws[b.at(oh, 4*t0):], b.pitch(), s.shift[1], s.floor[1])
			}
			for t := t0 + full; t < t0+n; t++ {
				c16.Output(v[16*(t-t0):], 1, out[:], 4*16, s.shift[1], s.floor[1])
				for r := range rows {
					cols := min(4, b.w-4*t)
					copy(st.ws[b.at(oh+r, 4*t):][:16*cols], out[r*4*16:])
				}
			}
		}
	}
}

// edgeTile copies the 6x6 pixels of l from (row, col) on, border
// included, into in, zero where they lie beyond the border.
func (st *stemState) edgeTile(in []float32, l interleaved, row, col int) {
	clear(in)
	for r := range 6 {
		if row+r >= l.h+l.padH {
			break
		}
		cols := min(6, l.w+l.padW-col)
		copy(in[r*6*16:][:16*cols], st.ws[l.at(row+r, col):])
	}
}

// rows16 computes output rows [lo, hi) of 16-channel convolution i
// into out, each row's border zeroed, the input of the tile at (oh, ow0)
// at st.ws[in(oh, ow0)] with adjacent pixels' inputs stride floats apart.
func (st *stemState) rows16(lo, hi, i int, out interleaved, in func(oh, ow0 int) int, stride int) {
	s := st.s
	for oh := lo; oh < hi; oh++ {
		st.border(out, oh)
		for ow0 := 0; ow0 < out.w; ow0 += 28 {
			bcast16Tile(stride, s.w[i], s.offs[i], st.ws[in(oh, ow0):], st.ws[out.at(oh, ow0):], min(28, out.w-ow0), s.shift[i], s.floor[i])
		}
	}
}

// layer2 computes units (bcastBlock-channel block, output row) of the
// third convolution from activation b into the planar output, 14 columns a
// tile (on AVX2, the tiles bcastColsAVX2 makes of a row).
func (st *stemState) layer2(lo, hi int) {
	s := st.s
	p := &s.p[2]
	oh, ow := p.OutH(), p.OutW()
	kdim := 16 * p.R * p.S
	kb := bcastBlock()
	for u := lo; u < hi; u++ {
		blk, row := u/oh, u%oh
		k0 := blk * kb
		w := s.w[2][k0*kdim : (k0+kb)*kdim]
		for ow0 := 0; ow0 < ow; {
			cols := 14
			if haveAVX2 {
				cols = bcastColsAVX2(ow, ow0)
			}
			n := min(cols, ow-ow0)
			x := st.ws[s.b.off+2*row*s.b.pitch()+32*ow0:]
			y := st.y[k0*oh*ow+row*ow+ow0:]
			bcastTile(cols, 32, kdim, w, nil, 0, s.offs[2], x, y, oh*ow, n, s.ones[k0:], s.shift[2][k0:], nil, s.floor[2])
			ow0 += n
		}
	}
}
