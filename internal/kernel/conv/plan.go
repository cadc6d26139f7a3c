package conv

import (
	"math"

	"github.com/dla-go/dla/internal/kernel/freelist"
	"github.com/dla-go/dla/internal/kernel/parallel"
	"github.com/dla-go/dla/internal/kernel/sgemm"
	"github.com/dla-go/dla/tensor"
)

// Tuning constants (see BenchmarkConv for the shapes they were set on).
const (
	// tileFloats bounds one im2col tile (kdim x columns) so it stays in L2.
	tileFloats = 96 << 10
	// minTile is the narrowest column tile worth a GEMM call.
	minTile = 32
	// wholeFloats caps the whole-image im2col matrix of the whole strategy.
	wholeFloats = 4 << 20
)

type strategy int

const (
	// direct: 1x1, stride 1, no padding; the NCHW image itself is the GEMM's B.
	direct strategy = iota
	// tiled: each task builds an im2col tile in its own workspace slot and
	// multiplies its group's weights by it. Best when there are many columns
	// (large images or batches).
	tiled
	// whole: one image's full im2col matrix is built in parallel, then one
	// GEMM per group (sgemm splits each over the workers). Best for small
	// images, where tiles leave cores idle and re-read large weights.
	whole
	// blocked: the input is rearranged into stride phases once and a tile
	// kernel computes the output directly (tile.go); needs the assembly
	// kernels and a channel count per group that is a multiple of 4.
	blocked
	// bcast: like blocked, but the kernel is vectorised over 32 output
	// channels and broadcasts each input, so strided columns cost nothing
	// extra (the blocked stride-2 kernels spend a permute per vector and
	// twice the cache traffic). See useBcast for where it runs.
	bcast
)

// schedule is how one Run call splits its work.
type schedule struct {
	strat strategy
	tc    int // columns per tile
	nct   int // tiles per image and group
	slot  int // tiled: floats per workspace slot
	ws    int // workspace floats
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// gemmTiles picks the column tiling for a B already in memory. One GEMM is
// left whole (sgemm parallelises it better than column tiles that would each
// re-read the weights); a few small ones are cut until there are two tiles
// per worker, none narrower than minTile.
func (g *geom) gemmTiles(gemms, workers int) (tc, nct int) {
	nct = 1
	if gemms > 1 {
		nct = max(1, min(ceilDiv(2*workers, gemms), g.ohow/minTile))
	}
	tc = ceilDiv(g.ohow, nct)
	return tc, ceilDiv(g.ohow, tc)
}

// forced, when not negative, makes schedule pick that strategy (tests only;
// direct is honoured only for shapes it can run).
var forced strategy = -1

func (g *geom) schedule(n, workers int) schedule {
	switch {
	case forced == blocked && tileMR(g.kg) > 0:
		return g.blockedSchedule()
	case forced == bcast && g.bcastFits():
		return g.bcastSchedule(workers)
	case forced < 0 && g.useBcast():
		return g.bcastSchedule(workers)
	case forced == whole:
		return g.wholeSchedule(workers)
	case forced == tiled:
		return g.tiledSchedule(n, workers)
	case forced < 0 && g.useBlocked():
		return g.blockedSchedule()
	case g.direct:
		tc, nct := g.gemmTiles(n*g.Groups, workers)
		return schedule{strat: direct, tc: tc, nct: nct}
	}
	// Too few full-width tiles to occupy every worker: a small image. Build
	// its whole im2col matrix if that is cheap, else narrow the tiles.
	if n*g.Groups*ceilDiv(g.ohow, g.tileWidth()) < 2*workers && g.C*g.R*g.S*g.ohow <= wholeFloats {
		return g.wholeSchedule(workers)
	}
	return g.tiledSchedule(n, workers)
}

// useBlocked picks the direct tile kernels whenever they apply except for
// 1x1 stride-1 convolutions (a plain GEMM on the image): they skip im2col and
// B packing, which matters most for grouped convolutions, whose per-group
// GEMMs are tiny (BenchmarkConv compared the strategies on the DLA shapes).
func (g *geom) useBlocked() bool {
	return (haveTile || haveAVX2) && tileMR(g.kg) > 0 && !g.direct
}

// bcastFits reports whether the bcast kernels can compute g.
func (g *geom) bcastFits() bool {
	return g.Groups == 1 && g.K%bcastBlock() == 0 && g.StrideW <= 2
}

// useBcast picks the bcast kernels wherever they fit, except for 1x1
// stride-1 convolutions at 56x56 and larger from fewer than 512 input
// channels (BenchmarkBcast has the deciding shapes), where the blocked
// kernels are faster; 16-channel variants for the stem lost to the blocked
// kernels too. A 1x1 needs no padded copy: the kernels tile its pixels as
// one flat row of the image.
// Against the GEMM on the image, since the kernels transpose their tiles in
// registers (two workers): 64->128 at 14x14 157 -> 165-197, 128->128 at
// 28x28 193 -> 201, 2560->1024 at 7x7 172 -> 226, 512->256 at 56x56 161 ->
// 203; but 64->128 at 56x56 192 -> 180, and 256->128 there is level.
func (g *geom) useBcast() bool {
	if !haveTile && !haveAVX2 || !g.bcastFits() {
		return false
	}
	if haveAVX2 {
		// The AVX2 pieces have 6 to 10 accumulators, where the AVX-512
		// kernels have 28, and read their weights once per piece: GEMM on
		// the image beat them on the 1x1 shapes of BenchmarkBcast.
		return !g.direct
	}
	if g.direct {
		// A 1x1's last tile narrower than 7 pixels runs in Go (bcastRow); on
		// small maps (4x4, 2x2: a 32x32 input's deep layers) that tail was
		// most of the work, 69% of DLA46_c's time at 32x32.
		if g.ohow%7 != 0 && g.ohow < 196 {
			return false
		}
		return g.ohow <= 784 || g.C >= 512
	}
	return true
}

// bcastSource is g read from a plain zero-padded copy (unit strides).
func (g *geom) bcastSource() geom {
	src := *g
	src.StrideH, src.StrideW = 1, 1
	return src
}

// useBands reports whether the bcast strategy splits the output into bands
// of bandRows rows, each task copying the input rows of its band,
// zero-padded, into a buffer of its own and convolving them: where the
// weights are no larger than the padded input (1x1 convolutions read the
// image in place, with no copy).
// A copy shared by all tasks, made first, left each core reading half its
// input from the other core's cache, which was slower. Where the weights are
// larger (3x3 512->512 at 7x7: 9 MB of weights, a 160 KB input), bands
// would each stream all the weights; there tasks take (32-channel block,
// output row) from one shared copy.
func (g *geom) useBands() bool {
	return !g.direct && g.K*g.kdim <= g.C*(g.H+2*g.PadH)*(g.W+2*g.PadW)
}

// bandRows is the number of output rows of one band: about 16 bands.
func (g *geom) bandRows() int { return ceilDiv(g.oh, 16) }

// bandLayout is the layout of one band's copy: for each channel, the
// (bandRows-1)*StrideH + R padded input rows its outputs read.
func (g *geom) bandLayout() phaseGeom {
	src := g.bcastSource()
	ph := src.phases(0)
	ph.hph = (g.bandRows()-1)*g.StrideH + g.R
	ph.plane = ph.hph * ph.pitch
	ph.chanLen = ph.plane
	ph.len = g.C*ph.chanLen + 2*tileNR(4) + 4*ph.pitch
	return ph
}

// bandTasks is the number of bands and of parts each band's 32-channel
// blocks are split into: enough tasks for four per worker where the blocks
// allow (each part copies its band's input again).
func (g *geom) bandTasks(workers int) (bands, parts int) {
	bands = ceilDiv(g.oh, g.bandRows())
	return bands, min(g.K/bcastBlock(), max(1, ceilDiv(4*workers, bands)))
}

func (g *geom) bcastSchedule(workers int) schedule {
	switch {
	case g.direct:
		return schedule{strat: bcast}
	case g.useBands():
		bands, parts := g.bandTasks(workers)
		return schedule{strat: bcast, ws: bands * parts * g.bandLayout().len}
	}
	src := g.bcastSource()
	return schedule{strat: bcast, ws: src.phases(0).len}
}

func (g *geom) blockedSchedule() schedule {
	src := g.tileSource()
	return schedule{strat: blocked, ws: src.phases(tileMR(g.kg)).len}
}

// tileWidth is the widest column tile whose im2col block fits tileFloats.
func (g *geom) tileWidth() int {
	return min(g.ohow, max(minTile, tileFloats/g.kdim/16*16))
}

func (g *geom) wholeSchedule(workers int) schedule {
	tc, nct := g.gemmTiles(g.Groups, workers)
	return schedule{strat: whole, tc: tc, nct: nct, ws: g.C * g.R * g.S * g.ohow}
}

func (g *geom) tiledSchedule(n, workers int) schedule {
	tc := g.tileWidth()
	groups := n * g.Groups
	if want := ceilDiv(2*workers, groups); groups*ceilDiv(g.ohow, tc) < 2*workers {
		tc = min(tc, max(minTile, ceilDiv(ceilDiv(g.ohow, want), 16)*16))
	}
	nct := ceilDiv(g.ohow, tc)
	slots := min(workers, groups*nct)
	return schedule{strat: tiled, tc: tc, nct: nct, slot: g.kdim * tc, ws: slots * g.kdim * tc}
}

// WorkspaceSize is the number of floats Forward needs in ws for p
// (it depends on parallel.Workers at the time of the call).
func WorkspaceSize(p Params) int {
	g := mustValid(p)
	sc := g.schedule(p.N, parallel.Workers())
	if sc.strat == blocked || sc.strat == bcast {
		return p.K*g.kdim + sc.ws // the packed weights, then the layout
	}
	return sc.ws
}

// Plan is a convolution prepared for inference: its weights are packed once
// and Run may then be called from many goroutines at once.
type Plan struct {
	g      geom
	packs  []*sgemm.PackedA        // one per group
	states freelist.List[runState] // so Run does not allocate

	// For the blocked strategy (when it is used):
	mr          int
	step        int       // input floats between output columns: 1, or 2 with stride2Tiles
	src         geom      // tileSource
	tw          []float32 // weights packed by packTile
	offs        []int     // tap offsets (tileOffsets)
	ph          phaseGeom
	ones, zeros []float32 // scale and shift when the epilogue has none
}

// NewPlan packs w (K x C/Groups x R x S) for p; p.N is ignored (Run takes the
// batch size). It panics when p is invalid: validate untrusted params first.
func NewPlan(p Params, w []float32) *Plan { return newPlan(p, w, nil) }

// newPlan is NewPlan; a non-nil tw (K*kdim floats) receives the blocked or
// bcast strategy's packed weights instead of a new allocation.
func newPlan(p Params, w, tw []float32) *Plan {
	p.N = 1
	g := mustValid(p)
	checkLen("w", w, p.K*g.kdim)
	pl := &Plan{g: g}
	// The strategy choice does not depend on the batch, so only one packing
	// of the weights is kept (tests that force strategies get both).
	strat := g.schedule(1, 1).strat
	if forced >= 0 || strat != blocked && strat != bcast {
		for grp := range p.Groups {
			pl.packs = append(pl.packs, sgemm.PackA(false, g.kg, g.kdim, w[grp*g.kg*g.kdim:], g.kdim))
		}
	}
	// The blocked and bcast kernels share the tile fields: weights packed in
	// blocks of mr channels, the layout they read, its tap offsets.
	switch mr := tileMR(g.kg); {
	case strat == bcast:
		pl.mr, pl.src, pl.step = bcastBlock(), g.bcastSource(), g.StrideW
	case mr > 0 && (forced >= 0 || g.useBlocked()):
		pl.mr, pl.src, pl.step = mr, g.tileSource(), 1
		if g.stride2Tiles(mr) {
			pl.step = 2
		}
	}
	if pl.mr > 0 {
		if tw == nil {
			tw = make([]float32, p.K*g.kdim)
		}
		pl.tw = tw[:p.K*g.kdim]
		g.packTile(pl.tw, w, pl.mr)
		switch {
		case strat == bcast && g.useBands():
			pl.ph = g.bandLayout()
		case strat == bcast:
			pl.ph = pl.src.phases(0) // the shared copy, or a 1x1's image itself
		default:
			pl.ph = pl.src.phases(pl.mr)
		}
		pl.offs = pl.src.tileOffsets(&pl.ph)
	}
	pl.ones, pl.zeros = make([]float32, p.K), make([]float32, p.K)
	for i := range pl.ones {
		pl.ones[i] = 1
	}
	pl.states.Max = freelist.MaxSmall
	pl.states.New = func() *runState {
		st := &runState{pl: pl}
		st.gemmFn, st.tileFn, st.colFn = st.gemmTasks, st.tileTasks, st.im2colTasks
		st.phaseFn, st.blockFn, st.groupFn = st.phaseTasks, st.blockTasks, st.groupTasks
		st.bcastFn, st.bandFn = st.bcastTasks, st.bandTasks
		// Epilogue slots for one image, so that a reserved state's first
		// call allocates nothing either.
		st.epis = make([]Epilogue, g.Groups*g.schedule(1, parallel.Workers()).nct)
		return st
	}
	return pl
}

// Reserve makes per-call state for n calls at once, each of one image, so
// that calls overlapping later allocate nothing: otherwise a second state
// is made the first time two calls happen to overlap, however late.
func (pl *Plan) Reserve(n int) { pl.states.Fill(n) }

// Params returns the plan's convolution with batch size n.
func (pl *Plan) Params(n int) Params {
	p := pl.g.Params
	p.N = n
	return p
}

// WorkspaceSize is the number of floats Run needs in ws for a batch of n.
func (pl *Plan) WorkspaceSize(n int) int {
	return pl.g.schedule(n, parallel.Workers()).ws
}

// Run computes y = epi(conv(x)) for n images; y is overwritten and epi's
// Residual, if any, is shaped like y. ws must hold WorkspaceSize(n) floats
// and must not be shared with a concurrent call.
func (pl *Plan) Run(x, y []float32, n int, epi *Epilogue, ws []float32) {
	g := &pl.g
	// NewPlan validated one image; the batch must keep x and y within bounds.
	if n < 1 || n > tensor.MaxElements/(g.C*g.hw) || n > tensor.MaxElements/(g.K*g.ohow) {
		panic("conv: bad batch size")
	}
	checkLen("x", x, n*g.C*g.hw)
	checkLen("y", y, n*g.K*g.ohow)
	checkEpi(epi, n, g.K, g.ohow)
	workers := parallel.Workers()
	sc := g.schedule(n, workers)
	checkLen("workspace", ws, sc.ws)

	st := pl.states.Get()
	st.x, st.y, st.ws, st.epi, st.sc = x, y, ws, epi, sc
	if gemms := n * g.Groups * sc.nct; epi != nil && len(st.epis) < gemms {
		st.epis = make([]Epilogue, gemms)
	}
	switch sc.strat {
	case direct:
		st.b, st.ldb, st.bImage = x, g.hw, g.C*g.hw
		parallel.For(n*g.Groups*sc.nct, 1, st.gemmFn)
	case whole:
		st.b, st.ldb, st.bImage = ws, g.ohow, 0
		for img := range n {
			st.img = img
			parallel.For(g.C, ceilDiv(g.C, 2*workers), st.colFn)
			parallel.For(g.Groups*sc.nct, 1, st.gemmFn)
		}
	case blocked:
		units := g.K / pl.mr * pl.blockUnits()
		for img := range n {
			st.img = img
			if g.Groups >= 2*workers {
				// Many groups: each task lays out its group's input and
				// convolves it while that is still in L2.
				parallel.For(g.Groups, 1, st.groupFn)
				continue
			}
			parallel.For(g.C, ceilDiv(g.C, 2*workers), st.phaseFn)
			parallel.For(units, ceilDiv(units, 8*workers), st.blockFn)
		}
	case bcast:
		units := g.K / pl.mr * g.oh
		if g.direct {
			// The flat image in segments of whole tiles, enough for four
			// units per worker: with one unit per channel block, a 1x1
			// convolution to 32 channels ran on one core.
			blocks := g.K / pl.mr
			segs := max(1, min(ceilDiv(4*workers, blocks), g.ohow/28))
			st.seg = ceilDiv(ceilDiv(g.ohow, segs), 14) * 14
			units = blocks * ceilDiv(g.ohow, st.seg)
		}
		bands := g.useBands()
		if bands {
			b, parts := g.bandTasks(workers)
			st.parts, units = parts, b*parts
		}
		for img := range n {
			st.img = img
			if bands {
				parallel.For(units, 1, st.bandFn)
				continue
			}
			if !g.direct {
				parallel.For(g.C, ceilDiv(g.C, 2*workers), st.phaseFn) // the shared copy
			}
			parallel.For(units, ceilDiv(units, 8*workers), st.bcastFn)
		}
	case tiled:
		slots := min(workers, len(ws)/sc.slot)
		tasks := n * g.Groups * sc.nct
		st.grain = ceilDiv(tasks, slots)
		parallel.For(tasks, st.grain, st.tileFn)
	}
	st.x, st.y, st.ws, st.epi, st.b = nil, nil, nil, nil, nil
	clear(st.epis) // drop references to the caller's slices
	pl.states.Put(st)
}

// runState carries one Run call's arguments to the task functions; the
// functions are bound once per state so parallel.For gets no new closure.
type runState struct {
	pl                    *Plan
	x, y, ws              []float32
	epi                   *Epilogue
	sc                    schedule
	img, grain            int
	seg                   int        // bcast 1x1: pixels per unit
	parts                 int        // bcast: tasks per band
	epis                  []Epilogue // one per GEMM of the call, reused across calls
	b                     []float32  // GEMM B operand for direct and whole
	ldb, bImage           int        // its row stride and per-image offset
	gemmFn, tileFn, colFn func(lo, hi int)
	phaseFn, blockFn      func(lo, hi int)
	bcastFn, bandFn       func(lo, hi int)
	groupFn               func(lo, hi int)
}

// mul multiplies group grp's weights by the tc columns in b and writes them
// at column col0 of image img, applying the epilogue. Slot i of st.epis holds
// the sub-epilogue (sgemm keeps the pointer while it runs, so a local would
// be moved to the heap).
func (st *runState) mul(i, img, grp, col0, tc int, b []float32, ldb int) {
	g := &st.pl.g
	k0 := grp * g.kg
	off := (img*g.K+k0)*g.ohow + col0
	var ep *Epilogue
	if st.epi != nil {
		ep = &st.epis[i]
		*ep = Epilogue{ReLU: st.epi.ReLU}
		if st.epi.Scale != nil {
			ep.Scale = st.epi.Scale[k0 : k0+g.kg]
		}
		if st.epi.Shift != nil {
			ep.Shift = st.epi.Shift[k0 : k0+g.kg]
		}
		if st.epi.Residual != nil {
			ep.Residual, ep.ResidualLd = st.epi.Residual[off:], g.ohow
		}
	}
	st.pl.packs[grp].Mul(tc, b, ldb, st.y[off:], g.ohow, ep)
}

// gemmTasks runs tasks (image, group, column tile) on st.b.
func (st *runState) gemmTasks(lo, hi int) {
	g, nct := &st.pl.g, st.sc.nct
	for t := lo; t < hi; t++ {
		ct, grp, img := t%nct, t/nct%g.Groups, t/nct/g.Groups
		if st.sc.strat == whole {
			img = st.img
		}
		col0 := ct * st.sc.tc
		tc := min(st.sc.tc, g.ohow-col0)
		b := st.b[img*st.bImage+grp*g.kdim*st.ldb+col0:]
		st.mul(t, img, grp, col0, tc, b, st.ldb)
	}
}

// im2colTasks builds the whole im2col matrix of image st.img, by channel.
func (st *runState) im2colTasks(lo, hi int) {
	g := &st.pl.g
	rs := g.R * g.S * g.ohow
	for c := lo; c < hi; c++ {
		plane := st.x[(st.img*g.C+c)*g.hw : (st.img*g.C+c+1)*g.hw]
		g.im2colPlane(st.ws[c*rs:(c+1)*rs], plane)
	}
}

// tileTasks runs tasks (image, group, column tile): build the tile in this
// chunk's workspace slot, then multiply the group's weights by it.
func (st *runState) tileTasks(lo, hi int) {
	g, nct := &st.pl.g, st.sc.nct
	slot := lo / st.grain
	buf := st.ws[slot*st.sc.slot : (slot+1)*st.sc.slot]
	for t := lo; t < hi; t++ {
		ct, grp, img := t%nct, t/nct%g.Groups, t/nct/g.Groups
		col0 := ct * st.sc.tc
		tc := min(st.sc.tc, g.ohow-col0)
		xg := st.x[(img*g.C+grp*g.cg)*g.hw : (img*g.C+(grp+1)*g.cg)*g.hw]
		g.im2colTile(buf[:g.kdim*tc], xg, col0, tc)
		st.mul(t, img, grp, col0, tc, buf, tc)
	}
}

// Forward computes y = epi(conv(x, w)) for p.N images, packing w for this
// call only (training, where weights change every step); the blocked and
// bcast strategies pack into ws. ws must hold WorkspaceSize(p) floats.
func Forward(p Params, x, w, y []float32, epi *Epilogue, ws []float32) {
	g := mustValid(p)
	if strat := g.schedule(p.N, parallel.Workers()).strat; strat != blocked && strat != bcast {
		NewPlan(p, w).Run(x, y, p.N, epi, ws)
		return
	}
	checkLen("workspace", ws, WorkspaceSize(p))
	n := p.K * g.kdim
	newPlan(p, w, ws[:n]).Run(x, y, p.N, epi, ws[n:])
}

// phaseTasks builds the stride phases of image st.img, by channel.
func (st *runState) phaseTasks(lo, hi int) {
	pl := st.pl
	g, ph := &pl.g, &pl.ph
	for c := lo; c < hi; c++ {
		src := st.x[(st.img*g.C+c)*g.hw : (st.img*g.C+c+1)*g.hw]
		pl.src.buildPhases(st.ws[c*ph.chanLen:(c+1)*ph.chanLen], src, ph)
	}
}

// blockUnits is the number of blockTasks units per MR-channel block: output
// rows, groups of rows (row-vector tiles) or tiles of the flattened phase
// grid.
func (pl *Plan) blockUnits() int {
	switch g := &pl.g; {
	case g.rowVectors(pl.mr):
		return ceilDiv(g.oh, tileNR(pl.mr)/16)
	case g.flatTiles(pl.mr):
		return ceilDiv(g.flatLen(&pl.ph), tileNR(pl.mr))
	}
	return pl.g.oh
}

// groupTasks lays out and convolves whole groups of image st.img.
func (st *runState) groupTasks(lo, hi int) {
	pl := st.pl
	g := &pl.g
	perGroup := g.kg / pl.mr * pl.blockUnits()
	for grp := lo; grp < hi; grp++ {
		st.phaseTasks(grp*g.cg, (grp+1)*g.cg)
		st.blockTasks(grp*perGroup, (grp+1)*perGroup)
	}
}

// tileEpilogue unpacks the call's epilogue for the tile kernels, which take
// every part: an identity scale and shift where it has none, and the ReLU as
// a floor of 0 (else -Inf).
func (st *runState) tileEpilogue() (scale, shift, res []float32, floor float32) {
	scale, shift, floor = st.pl.ones, st.pl.zeros, float32(math.Inf(-1))
	if e := st.epi; e != nil {
		if e.Scale != nil {
			scale = e.Scale
		}
		if e.Shift != nil {
			shift = e.Shift
		}
		res = e.Residual
		if e.ReLU {
			floor = 0
		}
	}
	return scale, shift, res, floor
}

// blockTasks runs units (MR-channel block, output row) of image st.img, a
// tile kernel call per NR output columns; with row-vector tiles units (block,
// NR/16 output rows), one call each; with flat tiles units (block, tile of
// the flattened phase grid).
func (st *runState) blockTasks(lo, hi int) {
	pl := st.pl
	g, ph, mr := &pl.g, &pl.ph, pl.mr
	nr := tileNR(mr)
	scale, shift, res, floor := st.tileEpilogue()
	switch {
	case g.rowVectors(mr):
		st.rowVectorTasks(lo, hi, scale, shift, res, floor)
		return
	case g.flatTiles(mr):
		st.flatTasks(lo, hi, scale, shift, res, floor)
		return
	}
	// Output row oh starts at input row oh (phases) or oh*StrideH (padded copy).
	rowStep := ph.pitch
	if pl.step == 2 {
		rowStep *= g.StrideH
	}
	for u := lo; u < hi; u++ {
		oh, blk := u%g.oh, u/g.oh
		k0 := blk * mr
		base := k0/g.kg*g.cg*ph.chanLen + oh*rowStep
		w := pl.tw[k0*g.kdim : (k0+mr)*g.kdim]
		for ow0 := 0; ow0 < g.ow; ow0 += nr {
			n := min(nr, g.ow-ow0)
			yoff := (st.img*g.K+k0)*g.ohow + oh*g.ow + ow0
			tile(mr, pl.step, g.kdim, w, pl.offs, st.ws[base+pl.step*ow0:], ^uint64(0)>>(64-n), st.y[yoff:], g.ohow, 16, scale[k0:], shift[k0:], from(res, yoff), floor)
		}
	}
}

// rowVectorTasks runs units (MR-channel block, group of NR/16 output rows):
// vector v of the tile computes output row oh0+v from phase row oh0+v (rows
// 16 floats apart) and stores its g.ow columns straight into that row.
func (st *runState) rowVectorTasks(lo, hi int, scale, shift, res []float32, floor float32) {
	pl := st.pl
	g, ph, mr := &pl.g, &pl.ph, pl.mr
	nv := tileNR(mr) / 16
	groups := ceilDiv(g.oh, nv)
	rowMask := uint64(1)<<g.ow - 1
	for u := lo; u < hi; u++ {
		oh0, k0 := u%groups*nv, u/groups*mr
		var masks uint64
		for v := range min(nv, g.oh-oh0) {
			masks |= rowMask << (16 * v)
		}
		base := k0/g.kg*g.cg*ph.chanLen + oh0*ph.pitch
		w := pl.tw[k0*g.kdim : (k0+mr)*g.kdim]
		yoff := (st.img*g.K+k0)*g.ohow + oh0*g.ow
		tile(mr, 1, g.kdim, w, pl.offs, st.ws[base:], masks, st.y[yoff:], g.ohow, g.ow, scale[k0:], shift[k0:], from(res, yoff), floor)
	}
}

// flatLen is the length of the flattened phase grid up to the last output.
func (g *geom) flatLen(ph *phaseGeom) int { return (g.oh-1)*ph.pitch + g.ow }

// flatTasks computes each flat tile raw into a stack scratch, then applies
// the epilogue while scattering the valid columns to their output rows.
func (st *runState) flatTasks(lo, hi int, scale, shift, res []float32, floor float32) {
	pl := st.pl
	g, ph, mr := &pl.g, &pl.ph, pl.mr
	nr := tileNR(mr)
	ntiles := ceilDiv(g.flatLen(ph), nr)
	var scratch [256]float32 // mr*nr
	for u := lo; u < hi; u++ {
		q0, blk := u%ntiles*nr, u/ntiles
		k0 := blk * mr
		base := k0/g.kg*g.cg*ph.chanLen + q0
		w := pl.tw[k0*g.kdim : (k0+mr)*g.kdim]
		tile(mr, 1, g.kdim, w, pl.offs, st.ws[base:], ^uint64(0)>>(64-nr), scratch[:], nr, 16, pl.ones, pl.zeros, nil, float32(math.Inf(-1)))
		// Scatter run by run: each run is one output row's valid columns.
		end := min(q0+nr, g.flatLen(ph))
		for q := q0; q < end; {
			oh, ow := q/ph.pitch, q%ph.pitch
			run := min(ph.pitch-ow, end-q)
			if ow >= g.ow {
				q += run
				continue
			}
			run = min(run, g.ow-ow)
			for r := range mr {
				i := (st.img*g.K+k0+r)*g.ohow + oh*g.ow + ow
				src := scratch[r*nr+q-q0 : r*nr+q-q0+run]
				dst := st.y[i : i+run]
				s, b := scale[k0+r], shift[k0+r]
				if res != nil {
					rr := res[i : i+run]
					for j, v := range src {
						dst[j] = max(v*s+b+rr[j], floor)
					}
				} else {
					for j, v := range src {
						dst[j] = max(v*s+b, floor)
					}
				}
			}
			q += run
		}
	}
}

// bcastTasks runs units of image st.img without bands: (segment of st.seg
// pixels, 32-channel block) of a 1x1 convolution, read in place as one flat
// row, or (32-channel block, output row) of the shared copy in ws.
func (st *runState) bcastTasks(lo, hi int) {
	pl := st.pl
	g := &pl.g
	scale, shift, res, floor := st.tileEpilogue()
	if !g.direct {
		for u := lo; u < hi; u++ {
			oh := u % g.oh
			st.bcastRow(st.ws, oh*g.StrideH*pl.ph.pitch, oh*g.ow, g.ow, u/g.oh*pl.mr, oh, g.oh, scale, shift, res, floor)
		}
		return
	}
	src := st.x[st.img*g.C*g.hw : (st.img+1)*g.C*g.hw]
	// Units run segment by segment, so that the tasks parallel.For hands
	// one core (one end of the range) cover the same pixels in every layer.
	blocks := g.K / pl.mr
	for u := lo; u < hi; u++ {
		base := u / blocks * st.seg
		st.bcastRow(src, base, base, min(st.seg, g.ohow-base), u%blocks*pl.mr, 0, 1, scale, shift, res, floor)
	}
}

// bandTasks runs tasks (band, part of its channel blocks) of image st.img:
// copy the band's input rows, zero-padded, into the task's own buffer, then
// compute the band's output rows for the part's blocks.
func (st *runState) bandTasks(lo, hi int) {
	pl := st.pl
	g, ph := &pl.g, &pl.ph
	scale, shift, res, floor := st.tileEpilogue()
	rows, blocks := g.bandRows(), g.K/pl.mr
	for t := lo; t < hi; t++ {
		band, part := t/st.parts, t%st.parts
		buf := st.ws[t*ph.len : (t+1)*ph.len]
		oh0 := band * rows
		for c := range g.C {
			src := st.x[(st.img*g.C+c)*g.hw : (st.img*g.C+c+1)*g.hw]
			pl.src.buildRows(buf[c*ph.chanLen:(c+1)*ph.chanLen], src, ph, oh0*g.StrideH)
		}
		for blk := blocks * part / st.parts; blk < blocks*(part+1)/st.parts; blk++ {
			for oh := oh0; oh < min(g.oh, oh0+rows); oh++ {
				st.bcastRow(buf, (oh-oh0)*g.StrideH*ph.pitch, oh*g.ow, g.ow, blk*pl.mr, oh-oh0, min(g.oh, oh0+rows)-oh0, scale, shift, res, floor)
			}
		}
	}
}

// bcastCols is the width of the bcast tile at column ow0 of a row of width
// columns: 14, or 7 for the last 7 or fewer; for a 1x1 convolution
// (direct) also for a last tile under 14, which must not read past the
// image. The AVX2 pieces take other tiles (bcastColsAVX2).
func bcastCols(width, ow0 int, direct bool) int {
	if haveAVX2 {
		return bcastColsAVX2(width, ow0)
	}
	if rem := width - ow0; rem <= 7 || direct && rem < 14 {
		return 7
	}
	return 14
}

// bcastColsAVX2 is bcastCols for the AVX2 pieces, which compute exactly
// the columns they are given, at most 6 a piece (bcastAVX2): the row splits
// into ceil(width/6) pieces, of 6 columns then of 5, and a tile takes the
// next five. A narrower piece has too few accumulators for the FMA latency,
// and 14-column tiles would each end on one (5, 5, 4). A row that splits
// into no such pieces (at most 19 columns) is one tile.
func bcastColsAVX2(width, ow0 int) int {
	six := width - 5*ceilDiv(width, 6) // pieces of 6 columns
	if six < 0 {
		return width - ow0
	}
	n := 0
	for range 5 {
		switch {
		case ow0+n >= width:
			return n
		case ow0+n < 6*six:
			n += 6
		default:
			n += 5
		}
	}
	return n
}

// avx2Piece is the width of the AVX2 piece that starts a tile's rem columns
// left: at most 6, as even as they come, except one piece of 7 for 7 (a
// 7-wide row, split 4 + 3 otherwise). 14 stays 5 + 5 + 4: as 7 + 7 it ran no
// faster (docs/performance.md).
func avx2Piece(rem int) int {
	if rem == 7 {
		return 7
	}
	return ceilDiv(rem, ceilDiv(rem, 6))
}

// bcastTiles is the number of bcast tiles across width columns.
func bcastTiles(width int, direct bool) int {
	tiles := 0
	for ow0 := 0; ow0 < width; tiles++ {
		ow0 += min(bcastCols(width, ow0, direct), width-ow0)
	}
	return tiles
}

// weightPrefetch spreads the prefetch of the next kb-channel block of
// weights (taps taps, 4*kb bytes each) over tiles 1 to tiles-1 of a run:
// tile t prefetches from float off of the block on, each tap the line step
// bytes after the previous tap's (step 0: tile t prefetches nothing). The
// step is a whole number of floats and at most a cache line, so a run of
// two tiles prefetches half the block; tiles past the block's end
// prefetch nothing (the last one inside may run a little past it).
func weightPrefetch(tile, tiles, taps, kb int) (off, step int) {
	if tile < 1 || tiles < 2 {
		return 0, 0
	}
	step = min(64, ceilDiv(ceilDiv(4*kb, tiles-1), 4)*4)
	if (tile-1)*step >= 4*kb {
		return 0, 0
	}
	return (tile - 1) * taps * step / 4, step
}

// from is s[i:], or nil for a nil s (an absent residual).
func from(s []float32, i int) []float32 {
	if s == nil {
		return nil
	}
	return s[i:]
}

// bcastRow computes width output pixels of channels k0..k0+31 of image
// st.img from src[base:] (output pixel out of the channel plane on), a bcast
// kernel call per 14 (or, for the last 7 or fewer, 7) columns, which applies
// the epilogue and writes the channel rows of the output. A 1x1
// convolution's image must not be read past its end, so its last tile, if
// narrower, runs in Go.
//
// The task computes rows rows of the block's output in a run, this call's
// being the row-th (a 1x1 convolution's segment is one row). All but the
// first tile of the run prefetch the next block's weights into L2, spread
// over them (weightPrefetch): a block's first tile otherwise waits for
// its weights from memory, where the weights of the 7x7 layers are; the
// prefetches win back part of that wait.
func (st *runState) bcastRow(src []float32, base, out, width, k0, row, rows int, scale, shift, res []float32, floor float32) {
	pl := st.pl
	g := &pl.g
	w := pl.tw[k0*g.kdim : (k0+pl.mr)*g.kdim]
	perRow := bcastTiles(width, g.direct)
	tile, tiles := row*perRow, rows*perRow
	next := (k0 + pl.mr) % g.K * g.kdim
	for ow0 := 0; ow0 < width; tile++ {
		pf, pfStep := w, 0
		if off, step := weightPrefetch(tile, tiles, g.kdim, pl.mr); step > 0 && g.K > pl.mr {
			pf, pfStep = pl.tw[next+off:], step
		}
		rem := width - ow0
		cols := bcastCols(width, ow0, g.direct)
		n := min(cols, rem)
		i0 := (st.img*g.K+k0)*g.ohow + out + ow0
		x, y, r := src[base+pl.step*ow0:], st.y[i0:], from(res, i0)
		if r != nil && ow0+n < width {
			// The next tile's residual, a row in each of the block's
			// channel planes, while this tile computes.
			prefetchTileRows(r[n:], g.ohow, pl.mr, min(bcastCols(width, ow0+n, g.direct), width-ow0-n))
		}
		if g.direct && n < cols {
			bcastGeneric(pl.mr, cols, 1, g.kdim, w, pl.offs, x, y, g.ohow, n, scale[k0:], shift[k0:], r, floor)
		} else {
			bcastTile(cols, pl.step, g.kdim, w, pf, pfStep, pl.offs, x, y, g.ohow, n, scale[k0:], shift[k0:], r, floor)
		}
		ow0 += n
	}
}
