package nn

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dla-go/dla/internal/kernel/conv"
	"github.com/dla-go/dla/internal/kernel/freelist"
	"github.com/dla-go/dla/internal/kernel/ops"
	"github.com/dla-go/dla/internal/kernel/parallel"
	"github.com/dla-go/dla/internal/kernel/winograd"
	"github.com/dla-go/dla/tensor"
)

// Engine is a graph compiled for inference: BatchNorm folded into the
// convolution weights, ReLU and residual adds fused into convolution
// epilogues, each concatenation's inputs written in place into their channel
// slice of its buffer, duplicate max pools merged, the stem's three
// convolutions fused into one step (fuseStem), weights packed once, and all
// activations planned into an arena layout per batch size. Forward is safe
// for concurrent use; each call, and each image of a batch run side by
// side, borrows an arena from a free list, so the steady state allocates
// nothing.
type Engine struct {
	g      *Graph
	steps  []step
	place  []placement // per value: where it lives
	bufs   []buffer    // storage units: a value of its own or a concatenation
	output int

	wholeBatch bool // Options.WholeBatch

	mu    sync.Mutex
	plans map[int]*memPlan // by batch size
}

// placement locates a value inside a buffer: channel offset chOff of buffer buf.
type placement struct{ buf, chOff int }

// buffer is [N, C, H, W] storage alive from step first to step last.
type buffer struct {
	c, h, w     int
	first, last int
}

type stepKind int

const (
	stepConv stepKind = iota
	stepMaxPool
	stepGAP
	stepAdd
	stepReLU
	stepAffine
	stepCopy
	stepStem // three convolutions fused (conv.Stem)
)

// step is one operation of the compiled network (run per image, or on the
// whole batch where the kernel takes it); value ids index Engine.place.
type step struct {
	kind     stepKind
	name     string // the first node's parameter prefix, for profiles
	macs     int64  // multiply-accumulates per image (convolutions)
	in, out  int
	other    int // residual (conv) or second operand (add); -1 if none
	relu     bool
	conv     convKernel
	stem     *conv.Stem
	params   conv.Params // one image
	scale    []float32   // affine steps (a BatchNorm that follows no convolution)
	shift    []float32
	kernel   int
	inShape  [3]int
	outShape [3]int
}

// memPlan is the arena layout for one batch size.
type memPlan struct {
	n       int
	offsets []int // per buffer
	size    int   // activations
	wsLen   int   // largest convolution workspace
	arenas  freelist.List[workspace]
	// reserved is how many images at once this plan's arenas and the
	// kernels' per-call state are ready for (see reserve).
	reserved atomic.Int64
}

type workspace struct {
	arena   []float32
	ws      []float32
	epis    []conv.Epilogue // one per step, so no epilogue escapes per call
	maxPool maxPoolTask
}

// convKernel is a convolution algorithm with its weights prepared: the
// GEMM-based conv.Plan or the Winograd winograd.Plan.
type convKernel interface {
	Run(x, y []float32, n int, epi *conv.Epilogue, ws []float32)
	WorkspaceSize(n int) int
	Reserve(n int)
}

// Options tunes compilation; the zero value is the fastest configuration.
type Options struct {
	// NoWinograd computes every convolution with the GEMM/direct kernels
	// (for tests and for comparing algorithms).
	NoWinograd bool
	// NoRegroup keeps thin convolution groups as they are (see regroup).
	NoRegroup bool
	// WholeBatch runs every batch as one pass instead of image by image
	// (see ImageByImage), for tests and for comparing the two.
	WholeBatch bool
	// NoStem computes the stem's three convolutions as separate steps
	// instead of fused (see fuseStem).
	NoStem bool
}

// Winograd pays off where its transforms are cheap next to the products
// they save and the tile count fills a matrix product: at least 64 channels
// (16 channels at 224x224 is 2x slower than the direct kernel, 32 at 56x56
// slower, 64 and more faster) and at least 14x14 outputs. Its transformed
// weights are 4x the size of the 3x3 filters (a 512x512 layer's 9.4 MB would
// become 38 MB), and at 7x7, where DLA's widest filters are, a batch-1 image
// has 4 tiles: too few to pay for that memory. Below 28x28 it needs 128
// channels: with 64 the bcast kernels are faster there. (The measurements:
// docs/performance.md, "Measurements behind the code's choices".)
const (
	winogradMinChannels      = 64
	winogradMinSize          = 14
	winogradSmallMinChannels = 128 // under 2*winogradMinSize
)

func (o Options) kernelFor(p conv.Params, w []float32) convKernel {
	small := p.H < 2*winogradMinSize || p.W < 2*winogradMinSize
	if !o.NoWinograd && winograd.Supported(p) && p.C >= winogradMinChannels && p.K >= winogradMinChannels &&
		p.H >= winogradMinSize && p.W >= winogradMinSize &&
		(!small || p.C >= winogradSmallMinChannels && p.K >= winogradSmallMinChannels) {
		return winograd.NewPlan(p, w)
	}
	if !o.NoRegroup {
		p, w = regroup(p, w)
	}
	return conv.NewPlan(p, w)
}

// minGroupChannels is the smallest channel count per group the blocked
// direct kernels take (a multiple of 4); thinner groups fall back to one
// tiny matrix product per group, 10x slower.
const minGroupChannels = 4

// regroup merges neighbouring groups of a grouped convolution whose groups
// are thinner than minGroupChannels (DLA46x_c and DLA60x_c: 64 channels in
// 32 groups of 2) into fewer, wider groups with block-diagonal weights. The
// result is the same convolution; the zero blocks cost f-fold
// multiplications in the merged layer, far less than the slow path.
func regroup(p conv.Params, w []float32) (conv.Params, []float32) {
	cg, kg := p.C/p.Groups, p.K/p.Groups
	if p.Groups == 1 || cg%minGroupChannels == 0 {
		return p, w
	}
	f := 1
	for (cg*f)%minGroupChannels != 0 || p.Groups%f != 0 {
		f++
		if f > minGroupChannels {
			return p, w
		}
	}
	taps := p.R * p.S
	wide := make([]float32, p.K*cg*f*taps)
	for k := range p.K {
		slot := k / kg % f // which of the f merged groups output channel k belongs to
		for c := range cg {
			src := w[(k*cg+c)*taps : (k*cg+c+1)*taps]
			copy(wide[(k*cg*f+slot*cg+c)*taps:], src)
		}
	}
	p.Groups /= f
	return p, wide
}

// Compile prepares g with weights w for inference.
func Compile(g *Graph, w Weights) (*Engine, error) { return CompileWith(g, w, Options{}) }

// CompileWith is Compile with options.
func CompileWith(g *Graph, w Weights, opt Options) (*Engine, error) {
	if err := g.CheckWeights(w); err != nil {
		return nil, err
	}
	nv := len(g.Nodes) + 1
	uses := make([][]int, nv) // consumers (node indices) of each value
	for i, nd := range g.Nodes {
		for _, v := range nd.Inputs {
			uses[v] = append(uses[v], i)
		}
	}
	// alias[v] is the value that really holds v's data (merged or fused away).
	alias := make([]int, nv)
	for v := range alias {
		alias[v] = v
	}
	canon := func(v int) int { return alias[v] }
	done := make([]bool, len(g.Nodes)) // absorbed into an earlier step
	var staging []float32
	stemWeights := map[int][]float32{} // by step: folded weights of the convolutions fuseStem may take
	e := &Engine{g: g, plans: map[int]*memPlan{}}

	// Merge identical max pools of the same input (level roots pool twice).
	seen := map[[2]int]int{}
	for i, nd := range g.Nodes {
		if nd.Op == OpMaxPool {
			key := [2]int{canon(nd.Inputs[0]), nd.Kernel}
			if first, ok := seen[key]; ok {
				alias[i+1] = first
				done[i] = true
			} else {
				seen[key] = i + 1
			}
		}
	}
	sole := func(v int) (int, bool) { // the only consumer of v, if there is one
		if len(uses[v]) == 1 && v != g.Output {
			return uses[v][0], true
		}
		return 0, false
	}
	for i, nd := range g.Nodes {
		if done[i] {
			continue
		}
		in := canon(nd.Inputs[0])
		st := step{name: nd.Name, in: in, other: -1, inShape: g.Shape(nd.Inputs[0]), outShape: nd.Out}
		if st.name == "" {
			st.name = fmt.Sprintf("%s#%d", nd.Op, i)
		}
		cur := i + 1
		switch nd.Op {
		case OpConv:
			st.kind = stepConv
			wt := w[nd.Name+".weight"].Data
			kdim := len(wt) / nd.OutC
			// conv then BN: y = (w*x + bias - mean)*scale + beta, so the weights
			// are scaled and the rest becomes a per-channel shift.
			// One staging buffer serves every layer: the kernels pack their
			// own copy, and reusing it keeps compilation's peak memory down.
			staging = append(staging[:0], wt...)
			folded := staging
			shift := make([]float32, nd.OutC)
			if nd.Bias {
				copy(shift, w[nd.Name+".bias"].Data)
			}
			if j, ok := sole(cur); ok && g.Nodes[j].Op == OpBatchNorm {
				scale, bnShift := foldBN(w, g.Nodes[j].Name)
				for k := range nd.OutC {
					shift[k] = shift[k]*scale[k] + bnShift[k]
					for t := range kdim {
						folded[k*kdim+t] *= scale[k]
					}
				}
				done[j] = true
				cur = j + 1
			}
			st.shift = shift
			if j, ok := sole(cur); ok && g.Nodes[j].Op == OpAdd {
				a := g.Nodes[j].Inputs
				other := a[0]
				if other == cur {
					other = a[1]
				}
				if other <= i { // ready before this convolution runs
					st.other = canon(other)
					done[j] = true
					cur = j + 1
				}
			}
			if j, ok := sole(cur); ok && g.Nodes[j].Op == OpReLU {
				st.relu = true
				done[j] = true
				cur = j + 1
			}
			st.params = convParams(g, nd, 1)
			st.macs = int64(nd.Out[0]*nd.Out[1]*nd.Out[2]) * int64(kdim)
			st.conv = opt.kernelFor(st.params, folded)
			if (st.params.C == 16 || st.params.K == 16) && len(folded) <= stemMaxWeights {
				stemWeights[len(e.steps)] = slices.Clone(folded)
			}
		case OpBatchNorm:
			st.kind = stepAffine
			st.scale, st.shift = foldBN(w, nd.Name)
		case OpReLU:
			st.kind = stepReLU
		case OpAdd:
			st.kind = stepAdd
			st.other = canon(nd.Inputs[1])
		case OpMaxPool:
			st.kind = stepMaxPool
			st.kernel = nd.Kernel
		case OpGlobalAvgPool:
			st.kind = stepGAP
		case OpConcat:
			continue // placed below: its inputs are written straight into it
		}
		st.outShape = g.Shape(cur)
		for v := i + 1; v <= cur; v++ {
			alias[v] = cur
		}
		st.out = cur
		e.steps = append(e.steps, st)
	}
	e.output = canon(g.Output)
	if !opt.NoStem {
		e.fuseStem(stemWeights, func(v int) bool { _, ok := sole(v); return ok }, !opt.NoWinograd)
	}
	e.wholeBatch = opt.WholeBatch
	e.placeValues(uses, canon)
	return e, nil
}

// stemMaxWeights bounds the folded weights Compile keeps for fuseStem: DLA's
// stem convolutions have 2352, 2304 and 4608.
const stemMaxWeights = 8192

// fuseStem replaces the first three convolutions in a row that conv.StemFits
// accepts, each but the last read by the next alone (single, which excludes
// the graph output), by one conv.Stem step built from their folded weights
// (weights, by step): its two 16-channel activations then stay channel-
// interleaved in the workspace, with no padded copies, and with winograd its
// first two layers run Winograd algorithms (BenchmarkStem measures each
// form). The three conv.Plans Compile made for them are dropped.
func (e *Engine) fuseStem(weights map[int][]float32, single func(v int) bool, winograd bool) {
	for i := 0; i+3 <= len(e.steps); i++ {
		s := e.steps[i : i+3]
		var p [3]conv.Params
		var w, shift [3][]float32
		var relu [3]bool
		ok := true
		for j := range s {
			ok = ok && s[j].kind == stepConv && weights[i+j] != nil && s[j].other < 0 &&
				(j == 0 || s[j].in == s[j-1].out && single(s[j-1].out))
			p[j], w[j], shift[j], relu[j] = s[j].params, weights[i+j], s[j].shift, s[j].relu
		}
		if !ok || !conv.StemFits(p, winograd) {
			continue
		}
		fused := step{kind: stepStem, name: s[0].name, in: s[0].in, out: s[2].out, other: -1,
			macs: s[0].macs + s[1].macs + s[2].macs, inShape: s[0].inShape, outShape: s[2].outShape,
			stem: conv.NewStem(p, w, shift, relu, winograd)}
		e.steps = append(append(e.steps[:i:i], fused), e.steps[i+3:]...)
		return
	}
}

func convParams(g *Graph, nd Node, n int) conv.Params {
	in := g.Shape(nd.Inputs[0])
	return conv.Params{N: n, C: in[0], H: in[1], W: in[2], K: nd.OutC, R: nd.Kernel, S: nd.Kernel,
		StrideH: nd.Stride, StrideW: nd.Stride, PadH: nd.Pad, PadW: nd.Pad, Groups: nd.Groups}
}

// foldBN is BatchNorm name as a per-channel scale and shift.
func foldBN(w Weights, name string) (scale, shift []float32) {
	c := len(w[name+".weight"].Data)
	scale, shift = make([]float32, c), make([]float32, c)
	ops.FoldBN(w[name+".weight"].Data, w[name+".bias"].Data, w[name+".running_mean"].Data,
		w[name+".running_var"].Data, BNEps, scale, shift)
	return scale, shift
}

// placeValues gives every stored value a buffer: concatenation inputs share
// their concatenation's buffer (one copy step where a value cannot, e.g. the
// graph input or a value already placed in another concatenation).
func (e *Engine) placeValues(uses [][]int, canon func(int) int) {
	g := e.g
	nv := len(g.Nodes) + 1
	e.place = make([]placement, nv)
	for v := range e.place {
		e.place[v].buf = -1
	}
	newBuf := func(s [3]int) int {
		e.bufs = append(e.bufs, buffer{c: s[0], h: s[1], w: s[2], first: math.MaxInt, last: -1})
		return len(e.bufs) - 1
	}
	producer := map[int]int{} // stored value -> step index
	for si, st := range e.steps {
		producer[st.out] = si
	}
	e.place[0].buf = newBuf(g.Shape(0))
	var copies []step
	for i, nd := range g.Nodes {
		if nd.Op != OpConcat {
			continue
		}
		b := newBuf(nd.Out)
		e.place[i+1] = placement{buf: b}
		off := 0
		for _, v := range nd.Inputs {
			v = canon(v)
			if _, ok := producer[v]; ok && e.place[v].buf < 0 {
				e.place[v] = placement{buf: b, chOff: off}
			} else {
				tmp := len(e.place)
				e.place = append(e.place, placement{buf: b, chOff: off})
				copies = append(copies, step{kind: stepCopy, in: v, out: tmp, other: -1, outShape: g.Shape(v)})
			}
			off += g.Shape(v)[0]
		}
	}
	for _, st := range e.steps {
		if e.place[st.out].buf < 0 {
			e.place[st.out] = placement{buf: newBuf(st.outShape)}
		}
	}
	// Copies run right after the step producing their source (or first, for
	// the input). A concatenation is produced by no step: a copy of one (a
	// concatenation inside another) runs after the last step or copy that
	// writes into it. Copies are in graph order, so an inner concatenation's
	// copies are placed before an outer one looks for its writers.
	if len(copies) > 0 {
		var out, late []step
		for _, c := range copies {
			switch _, produced := producer[c.in]; {
			case c.in == 0:
				out = append(out, c)
			case !produced:
				late = append(late, c)
			}
		}
		for _, st := range e.steps {
			out = append(out, st)
			for _, c := range copies {
				if c.in == st.out {
					out = append(out, c)
				}
			}
		}
		for _, c := range late {
			last := 0
			for i, st := range out {
				if e.place[st.out].buf == e.place[c.in].buf {
					last = i + 1
				}
			}
			out = slices.Insert(out, last, c)
		}
		e.steps = out
	}
	// Lifetimes in step indices; the input is alive from the start, the output to the end.
	touch := func(v, si int) {
		b := &e.bufs[e.place[v].buf]
		b.first = min(b.first, si)
		b.last = max(b.last, si)
	}
	touch(0, 0)
	for si, st := range e.steps {
		touch(st.in, si)
		touch(st.out, si)
		if st.other >= 0 {
			touch(st.other, si)
		}
	}
	touch(e.output, len(e.steps))
}

// planFor lays out the arena for batch size n (first fit over lifetimes).
func (e *Engine) planFor(n int) *memPlan {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.plans[n]; ok {
		return p
	}
	p := &memPlan{n: n, offsets: make([]int, len(e.bufs))}
	type block struct{ off, size, first, last int }
	var placed []block
	for i, b := range e.bufs {
		size := n * b.c * b.h * b.w
		off := 0
		for moved := true; moved; {
			moved = false
			for _, o := range placed {
				if o.first <= b.last && b.first <= o.last && off < o.off+o.size && o.off < off+size {
					off = o.off + o.size
					moved = true
				}
			}
		}
		placed = append(placed, block{off, size, b.first, b.last})
		p.offsets[i] = off
		p.size = max(p.size, off+size)
	}
	for i := range e.steps {
		switch st := &e.steps[i]; {
		case st.conv != nil:
			p.wsLen = max(p.wsLen, st.conv.WorkspaceSize(e.convImages(st, n)))
		case st.stem != nil:
			p.wsLen = max(p.wsLen, st.stem.WorkspaceSize())
		}
	}
	// Arenas beyond one per core are bursts of concurrent callers, left to
	// the collector.
	p.arenas.Max = runtime.GOMAXPROCS(0)
	p.arenas.New = func() *workspace {
		return &workspace{
			arena: make([]float32, p.size),
			ws:    make([]float32, p.wsLen),
			epis:  make([]conv.Epilogue, len(e.steps)),
		}
	}
	e.plans[n] = p
	return p
}

// Classes is the number of logits per image.
func (e *Engine) Classes() int { return e.g.Shape(e.g.Output)[0] }

// Graph returns the graph the engine was compiled from.
func (e *Engine) Graph() *Graph { return e.g }

// ArenaBytes is the activation memory one Forward of batch n uses: a batch
// run image by image takes one batch-1 arena per image running at once.
func (e *Engine) ArenaBytes(n int) int {
	arenas := 1
	if e.ImageByImage(n) {
		n, arenas = 1, min(n, parallel.Workers())
	}
	p := e.planFor(n)
	return 4 * (p.size + p.wsLen) * arenas
}

// convImages is how many images one call of a convolution step handles:
// Winograd takes the whole batch (strided views into the arena make one
// larger matrix product per tile position), so do the other kernels when
// every operand's images lie back to back; otherwise one image at a time.
func (e *Engine) convImages(st *step, n int) int {
	if _, ok := st.conv.(*winograd.Plan); ok {
		return n
	}
	if e.dense(st.in) && e.dense(st.out) && (st.other < 0 || e.dense(st.other)) {
		return n
	}
	return 1
}

// Forward runs a batch [N,C,H,W] and returns the logits [N, classes].
func (e *Engine) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if err := e.g.CheckInput(x); err != nil {
		return nil, err
	}
	out := tensor.New(x.Shape[0], e.Classes())
	return out, e.ForwardInto(x, out)
}

// ForwardInto is Forward writing into out ([N, classes]). Once a call of
// this batch size has run, later calls allocate nothing, unless more
// callers at once than ever before need more arenas.
func (e *Engine) ForwardInto(x, out *tensor.Tensor) error {
	if err := e.g.CheckInput(x); err != nil {
		return err
	}
	n := x.Shape[0]
	cls := e.Classes()
	if len(out.Data) != n*cls {
		return fmt.Errorf("output holds %d values, need %d", len(out.Data), n*cls)
	}
	if !e.ImageByImage(n) {
		e.forward(e.planFor(n), x.Data, out.Data)
		return nil
	}
	// The images run side by side, one per worker, each with an arena of
	// its own (see ImageByImage). The kernels' parallel.For calls inside
	// are queued for the other workers, which are busy with their own
	// images, so their callers run them (a worker left without an image
	// joins the others' layers).
	p := e.planFor(1)
	e.reserve(p, min(n, parallel.Workers()))
	t := imageTasks.Get()
	t.e, t.p, t.x, t.out, t.per, t.cls = e, p, x.Data, out.Data, len(x.Data)/n, cls
	parallel.Run(n, 1, t)
	*t = imageTask{}
	imageTasks.Put(t)
	return nil
}

// reserve readies plan p for k images at once: k arenas, and per-call state
// for k calls of every kernel. Without it a kernel makes its second state
// only the first time two images happen to reach it together, which may be
// many batches later.
func (e *Engine) reserve(p *memPlan, k int) {
	if p.reserved.Load() >= int64(k) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if p.reserved.Load() >= int64(k) {
		return
	}
	p.arenas.Fill(k)
	for i := range e.steps {
		switch st := &e.steps[i]; {
		case st.conv != nil:
			st.conv.Reserve(k)
		case st.stem != nil:
			st.stem.Reserve(k)
		}
	}
	p.reserved.Store(int64(k))
}

// imageTask runs images [lo, hi) of a batch image by image (a
// parallel.Task, reused so that ForwardInto allocates nothing).
type imageTask struct {
	e        *Engine
	p        *memPlan
	x, out   []float32
	per, cls int
}

var imageTasks = freelist.List[imageTask]{New: func() *imageTask { return new(imageTask) }, Max: freelist.MaxSmall}

func (t *imageTask) Run(lo, hi int) {
	for img := lo; img < hi; img++ {
		t.e.forward(t.p, t.x[img*t.per:(img+1)*t.per], t.out[img*t.cls:(img+1)*t.cls])
	}
}

// ImageByImage reports whether the engine runs a batch of n images image
// by image: always, unless Options.WholeBatch. The images then run side by
// side, one per worker (ForwardInto), each core through whole images with
// no wait for the other at each layer and its activations in its own
// cache. The whole batch in one pass, with every layer split over the
// workers, gained only in Winograd's larger products, and used more memory;
// images one after another with each layer split over both cores waited at
// every layer, most in the host's slow phases.
func (e *Engine) ImageByImage(n int) bool { return n > 1 && !e.wholeBatch }

// forward runs the batch x of plan p's size into out.
func (e *Engine) forward(p *memPlan, x, out []float32) {
	ws := p.arenas.Get()
	defer p.arenas.Put(ws)
	e.loadInput(p, ws, x)
	for si := range e.steps {
		e.runStep(&e.steps[si], &ws.epis[si], p, ws)
	}
	cls := e.Classes()
	for img := range p.n {
		copy(out[img*cls:(img+1)*cls], e.view(p, ws, e.output, img, cls))
	}
}

// StepTime is the time one compiled step took for a whole batch.
type StepTime struct {
	Name     string // parameter prefix of the step's first operator
	Kind     string // conv3x3/s2/g32, maxpool, ...
	MACs     int64  // for the whole batch
	Duration time.Duration
}

// Profile runs x once step by step and times each step. A batch that
// Forward runs image by image (its images side by side, a worker each) runs
// here one image after another, each step split over the workers as at
// batch 1, and each step's times are summed over the images.
func (e *Engine) Profile(x *tensor.Tensor) ([]StepTime, error) {
	if err := e.g.CheckInput(x); err != nil {
		return nil, err
	}
	n := x.Shape[0]
	out := make([]StepTime, len(e.steps))
	for si := range e.steps {
		st := &e.steps[si]
		out[si] = StepTime{Name: st.name, Kind: st.describe(), MACs: st.macs * int64(n)}
	}
	passes, per := 1, len(x.Data)
	if e.ImageByImage(n) {
		passes, per = n, per/n
	}
	p := e.planFor(n / passes)
	ws := p.arenas.Get()
	defer p.arenas.Put(ws)
	for img := range passes {
		e.loadInput(p, ws, x.Data[img*per:(img+1)*per])
		for si := range e.steps {
			t0 := time.Now()
			e.runStep(&e.steps[si], &ws.epis[si], p, ws)
			out[si].Duration += time.Since(t0)
		}
	}
	return out, nil
}

func (st *step) describe() string {
	switch st.kind {
	case stepConv:
		pr := st.params
		d := fmt.Sprintf("conv%dx%d", pr.R, pr.S)
		if pr.StrideH > 1 {
			d += fmt.Sprintf("/s%d", pr.StrideH)
		}
		if pr.Groups > 1 {
			d += fmt.Sprintf("/g%d", pr.Groups)
		}
		if _, ok := st.conv.(*winograd.Plan); ok {
			d += "/wino"
		}
		return fmt.Sprintf("%s %d->%d @%dx%d", d, pr.C, pr.K, pr.H, pr.W)
	case stepMaxPool:
		return "maxpool"
	case stepGAP:
		return "avgpool"
	case stepAdd:
		return "add"
	case stepReLU:
		return "relu"
	case stepAffine:
		return "batchnorm"
	case stepStem:
		p0, p1, p2 := st.stem.Params(0), st.stem.Params(1), st.stem.Params(2)
		return fmt.Sprintf("stem(%dx%d,%dx%d,%dx%d/s2) %d->%d->%d->%d @%dx%d", p0.R, p0.S, p1.R, p1.S, p2.R, p2.S, p0.C, p0.K, p1.K, p2.K, p0.H, p0.W)
	}
	return "copy"
}

func (e *Engine) loadInput(p *memPlan, ws *workspace, x []float32) {
	b := e.bufs[e.place[0].buf]
	copy(ws.arena[p.offsets[e.place[0].buf]:], x[:p.n*b.c*b.h*b.w])
}

// view is the length-l slice of value v for image img.
func (e *Engine) view(p *memPlan, ws *workspace, v, img, l int) []float32 {
	pl := e.place[v]
	b := e.bufs[pl.buf]
	plane := b.h * b.w
	off := p.offsets[pl.buf] + img*b.c*plane + pl.chOff*plane
	return ws.arena[off : off+l : off+l]
}

// span is value v for all images of the batch: the slice from image 0's data
// to the end of image n-1's, and the distance between images.
func (e *Engine) span(p *memPlan, ws *workspace, v, l int) ([]float32, int) {
	pl := e.place[v]
	b := e.bufs[pl.buf]
	plane := b.h * b.w
	stride := b.c * plane
	off := p.offsets[pl.buf] + pl.chOff*plane
	end := off + (p.n-1)*stride + l
	return ws.arena[off:end:end], stride
}

// dense reports whether value v fills its buffer, so its images lie back to back.
func (e *Engine) dense(v int) bool {
	pl := e.place[v]
	return pl.chOff == 0 && e.bufs[pl.buf].c == e.g.Shape(v)[0]
}

// runStep runs one step on the whole batch.
func (e *Engine) runStep(st *step, epi *conv.Epilogue, p *memPlan, ws *workspace) {
	if st.kind != stepConv || e.convImages(st, p.n) == 1 {
		for img := range p.n {
			e.run(st, epi, p, ws, img)
		}
		return
	}
	// The whole batch in one call (the workspace was sized by convImages):
	// Winograd takes strided views, the other kernels back-to-back images.
	outLen := volume(st.outShape)
	x, xs := e.span(p, ws, st.in, volume(st.inShape))
	y, ys := e.span(p, ws, st.out, outLen)
	epi.Shift, epi.ReLU, epi.Residual = st.shift, st.relu, nil
	rs := outLen
	if st.other >= 0 {
		epi.Residual, rs = e.span(p, ws, st.other, outLen)
	}
	if wp, ok := st.conv.(*winograd.Plan); ok {
		wp.RunStrided(x, xs, y, ys, rs, p.n, epi, ws.ws)
		return
	}
	st.conv.Run(x, y, p.n, epi, ws.ws)
}

// volume is the element count of a [C, H, W] shape.
func volume(s [3]int) int { return s[0] * s[1] * s[2] }

// run runs a step on image img. The small element-wise steps are plain loops
// here rather than calls to the ops kernels, whose closures would allocate
// on every Forward (ops serves training, which allocates anyway).
func (e *Engine) run(st *step, epi *conv.Epilogue, p *memPlan, ws *workspace, img int) {
	inLen, outLen := volume(st.inShape), volume(st.outShape)
	switch st.kind {
	case stepConv:
		epi.Shift, epi.ReLU, epi.Residual = st.shift, st.relu, nil
		if st.other >= 0 {
			epi.Residual = e.view(p, ws, st.other, img, outLen)
		}
		st.conv.Run(e.view(p, ws, st.in, img, inLen), e.view(p, ws, st.out, img, outLen), 1, epi, ws.ws)
	case stepMaxPool:
		mp := &ws.maxPool
		mp.x, mp.y, mp.in, mp.out, mp.k = e.view(p, ws, st.in, img, inLen), e.view(p, ws, st.out, img, outLen), st.inShape, st.outShape, st.kernel
		parallel.Run(st.outShape[0], max(1, st.outShape[0]/(4*parallel.Workers())), mp)
		mp.x, mp.y = nil, nil
	case stepGAP:
		x, y := e.view(p, ws, st.in, img, inLen), e.view(p, ws, st.out, img, outLen)
		hw := st.inShape[1] * st.inShape[2]
		for c := range y {
			var s float32
			for _, v := range x[c*hw : (c+1)*hw] {
				s += v
			}
			y[c] = s / float32(hw)
		}
	case stepAdd:
		a, b, y := e.view(p, ws, st.in, img, inLen), e.view(p, ws, st.other, img, inLen), e.view(p, ws, st.out, img, outLen)
		for i := range y {
			y[i] = a[i] + b[i]
		}
	case stepReLU:
		x, y := e.view(p, ws, st.in, img, inLen), e.view(p, ws, st.out, img, outLen)
		for i, v := range x {
			y[i] = max(v, 0)
		}
	case stepAffine:
		x, y := e.view(p, ws, st.in, img, inLen), e.view(p, ws, st.out, img, outLen)
		plane := st.inShape[1] * st.inShape[2]
		for i, v := range x {
			c := i / plane
			y[i] = v*st.scale[c] + st.shift[c]
		}
	case stepCopy:
		copy(e.view(p, ws, st.out, img, outLen), e.view(p, ws, st.in, img, outLen))
	case stepStem:
		st.stem.Run(e.view(p, ws, st.in, img, inLen), e.view(p, ws, st.out, img, outLen), ws.ws)
	}
}

// maxPoolTask is a k x k, stride k max pool of one image, split over channels;
// it lives in the workspace so running it in parallel allocates nothing.
type maxPoolTask struct {
	x, y    []float32
	in, out [3]int
	k       int
}

func (t *maxPoolTask) Run(c0, c1 int) {
	in, out := t.in, t.out
	for c := c0; c < c1; c++ {
		ops.MaxPoolPlane(t.x[c*in[1]*in[2]:(c+1)*in[1]*in[2]], t.y[c*out[1]*out[2]:(c+1)*out[1]*out[2]], in[1], in[2], t.k)
	}
}
