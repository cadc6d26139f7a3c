package conv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/dla-go/dla/internal/kernel/kerneltest"
	"github.com/dla-go/dla/internal/kernel/parallel"
)

// namedShape is a convolution of a benchmark or test table.
type namedShape struct {
	name string
	p    Params
}

// dlaShapes are the convolutions of DLA34/DLA60/DLA60x (dla-reference.md
// sections 1-4) at batch 1 and 224x224 input.
var dlaShapes = []namedShape{
	{"dla34/base7x7_3-16@224", Params{1, 3, 224, 224, 16, 7, 7, 1, 1, 3, 3, 1}},
	{"dla34/level0_3x3_16-16@224", Params{1, 16, 224, 224, 16, 3, 3, 1, 1, 1, 1, 1}},
	{"dla34/level1_3x3s2_16-32@224", Params{1, 16, 224, 224, 32, 3, 3, 2, 2, 1, 1, 1}},
	{"dla34/3x3s2_32-64@112", Params{1, 32, 112, 112, 64, 3, 3, 2, 2, 1, 1, 1}},
	{"dla34/3x3_64-64@56", Params{1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1}},
	{"dla34/3x3_128-128@28", Params{1, 128, 28, 28, 128, 3, 3, 1, 1, 1, 1, 1}},
	{"dla34/3x3_256-256@14", Params{1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1}},
	{"dla34/3x3_512-512@7", Params{1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1}},
	{"dla34/root1x1_128-64@56", Params{1, 128, 56, 56, 64, 1, 1, 1, 1, 0, 0, 1}},
	{"dla34/root1x1_448-128@28", Params{1, 448, 28, 28, 128, 1, 1, 1, 1, 0, 0, 1}},
	{"dla34/root1x1_896-256@14", Params{1, 896, 14, 14, 256, 1, 1, 1, 1, 0, 0, 1}},
	{"dla34/root1x1_1280-512@7", Params{1, 1280, 7, 7, 512, 1, 1, 1, 1, 0, 0, 1}},
	{"dla60/1x1_128-64@56", Params{1, 128, 56, 56, 64, 1, 1, 1, 1, 0, 0, 1}},
	{"dla60/3x3_64-64@56", Params{1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1}},
	{"dla60/1x1_64-128@56", Params{1, 64, 56, 56, 128, 1, 1, 1, 1, 0, 0, 1}},
	{"dla60/1x1_1024-512@14", Params{1, 1024, 14, 14, 512, 1, 1, 1, 1, 0, 0, 1}},
	{"dla60/3x3_512-512@7", Params{1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1}},
	{"dla60x/3x3g32_128-128@56", Params{1, 128, 56, 56, 128, 3, 3, 1, 1, 1, 1, 32}},
	{"dla60x/3x3g32s2_128-128@112", Params{1, 128, 112, 112, 128, 3, 3, 2, 2, 1, 1, 32}},
	{"dla60x/3x3g32_256-256@28", Params{1, 256, 28, 28, 256, 3, 3, 1, 1, 1, 1, 32}},
	{"dla60x/3x3g32_512-512@14", Params{1, 512, 14, 14, 512, 3, 3, 1, 1, 1, 1, 32}},
	{"dla60x/3x3g32_1024-1024@7", Params{1, 1024, 7, 7, 1024, 3, 3, 1, 1, 1, 1, 32}},
	{"dla102x2/3x3g64_256-256@56", Params{1, 256, 56, 56, 256, 3, 3, 1, 1, 1, 1, 64}},
}

func macs(p Params) int {
	return p.N * p.K * p.OutH() * p.OutW() * p.C / p.Groups * p.R * p.S
}

// oddCases draws shapes from the brief's odd sizes with a fixed seed, keeping
// the valid ones whose reference stays cheap, plus the DLA channel/group
// configurations on small images.
func oddCases(count int, maxMACs int) []Params {
	r := rand.New(rand.NewPCG(7, 11))
	pick := func(v ...int) int { return v[r.IntN(len(v))] }
	var out []Params
	for len(out) < count {
		g := pick(1, 1, 2, 4, 32)
		k := pick(1, 3, 7)
		p := Params{
			N: pick(1, 2, 3), C: pick(1, 3, 7, 13, 16, 31, 33), K: pick(1, 3, 7, 13, 16, 31, 33),
			H: pick(1, 5, 7, 13, 17, 31), W: pick(1, 5, 7, 13, 17, 31), R: k, S: k,
			StrideH: pick(1, 2), PadH: pick(0, 1, 3), Groups: g,
		}
		p.StrideW, p.PadW = p.StrideH, p.PadH
		if r.IntN(4) == 0 { // some non-square kernels, strides and pads
			p.S, p.StrideW, p.PadW = pick(1, 3, 7), pick(1, 2), pick(0, 1, 3)
		}
		if g > 1 { // make C and K multiples of the group count
			p.C, p.K = g*pick(1, 2, 3, 4), g*pick(1, 2, 3, 4)
		}
		if p.Validate() != nil || macs(p) > maxMACs {
			continue
		}
		out = append(out, p)
	}
	for _, s := range dlaShapes {
		p := s.p
		p.H, p.W = min(p.H, 9+p.StrideH), min(p.W, 9+p.StrideW)
		if testing.Short() && macs(p) > maxMACs {
			continue // DLA's channel counts are most of the time under emulation
		}
		out = append(out, p)
	}
	return out
}

type epiFlags struct{ scale, shift, residual, relu bool }

func makeEpi(f epiFlags, k, ysize int, seed uint64) *Epilogue {
	if f == (epiFlags{}) {
		return nil
	}
	e := &Epilogue{ReLU: f.relu}
	if f.scale {
		e.Scale = kerneltest.Rand(k, seed)
	}
	if f.shift {
		e.Shift = kerneltest.Rand(k, seed+1)
	}
	if f.residual {
		e.Residual = kerneltest.Rand(ysize, seed+2)
	}
	return e
}

func allStrategies(t *testing.T, fn func(t *testing.T)) {
	for _, s := range []strategy{-1, direct, tiled, whole, blocked, bcast} {
		t.Run(fmt.Sprintf("strategy%d", s), func(t *testing.T) {
			defer func(old strategy) { forced = old }(forced)
			forced = s
			fn(t)
		})
	}
}

// variants runs fn once per worker count and strategy, so every path is
// compared with one reference result.
func variants(t *testing.T, fn func(name string)) {
	t.Helper()
	defer func(old strategy) { forced = old }(forced)
	for _, workers := range []int{1, 2, 3} {
		if testing.Short() && workers == 2 {
			continue // 1 and 3 cover the serial path and uneven splits
		}
		old := parallel.SetWorkers(workers)
		for _, s := range []strategy{-1, direct, tiled, whole, blocked, bcast} {
			forced = s
			fn(fmt.Sprintf("workers=%d strategy=%d", workers, s))
		}
		parallel.SetWorkers(old)
	}
}

// shortOr is full, or short under -short (the arm64 and armv7 runs under
// emulation): fewer and smaller cases through the same kernels.
func shortOr(full, short int) int {
	if testing.Short() {
		return short
	}
	return full
}

func TestForwardMatchesRef(t *testing.T) {
	for i, p := range oddCases(shortOr(150, 40), shortOr(400_000, 100_000)) {
		checkForward(t, p, epiFlags{i%2 == 0, i%3 == 0, i%5 == 0, i%2 == 1}, uint64(i), true)
	}
}

func checkForward(t *testing.T, p Params, f epiFlags, seed uint64, all bool) {
	t.Helper()
	ysize := p.N * p.K * p.OutH() * p.OutW()
	x := kerneltest.Rand(p.N*p.C*p.H*p.W, seed)
	w := kerneltest.Rand(p.K*p.C/p.Groups*p.R*p.S, seed+100)
	epi := makeEpi(f, p.K, ysize, seed+200)
	x0, w0 := slices.Clone(x), slices.Clone(w)
	want := make([]float32, ysize)
	ForwardRef(p, x, w, want, epi)
	run := func(name string) {
		got, check := kerneltest.Guarded(ysize, kerneltest.Rand(ysize, 9))
		ws := make([]float32, WorkspaceSize(p))
		Forward(p, x, w, got, epi, ws)
		check(t)
		kerneltest.Unchanged(t, "x", x, x0)
		kerneltest.Unchanged(t, "w", w, w0)
		kerneltest.CheckNMSE(t, fmt.Sprintf("%s %+v %+v", name, p, f), got, want, kerneltest.DefaultNMSE)
	}
	if all {
		variants(t, run)
	} else {
		run("default")
	}
}

func TestDLAShapesFullSize(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size reference convolutions are slow")
	}
	for _, s := range dlaShapes {
		if macs(s.p) > 120_000_000 {
			continue
		}
		t.Run(s.name, func(t *testing.T) { checkForward(t, s.p, epiFlags{true, true, true, true}, 5, false) })
	}
}

// planShapes cover every strategy, groups and more channels than one kernel tile.
var planShapes = []Params{
	{2, 16, 9, 11, 70, 1, 1, 1, 1, 0, 0, 1},
	{3, 12, 13, 7, 8, 3, 3, 2, 1, 1, 1, 4},
	{1, 33, 17, 17, 130, 3, 3, 1, 1, 1, 1, 1},
	{2, 64, 9, 9, 64, 3, 3, 1, 1, 1, 1, 32},
	{2, 16, 9, 11, 32, 3, 3, 2, 2, 1, 1, 4},
	{1, 64, 7, 70, 128, 3, 3, 1, 1, 1, 1, 32},
	{1, 8, 6, 40, 16, 1, 1, 1, 1, 0, 0, 1},
	{1, 8, 9, 70, 16, 3, 3, 2, 2, 1, 1, 1},
	{2, 8, 5, 130, 8, 3, 3, 2, 2, 1, 1, 2},
	{2, 5, 13, 29, 64, 3, 3, 2, 2, 1, 1, 1},  // bcast, stride 2, a partial last column tile
	{1, 3, 11, 30, 32, 3, 3, 1, 1, 1, 1, 1},  // bcast, stride 1
	{1, 7, 15, 61, 96, 7, 7, 2, 2, 3, 3, 1},  // bcast, 7x7 stride 2
	{1, 4, 9, 27, 32, 3, 3, 2, 2, 0, 0, 1},   // bcast, no padding
	{2, 40, 7, 7, 64, 1, 1, 1, 1, 0, 0, 1},   // bcast on the flat image (1x1)
	{1, 9, 5, 9, 32, 1, 1, 1, 1, 0, 0, 1},    // the same, 45 pixels: a partial last tile
	{2, 24, 10, 17, 32, 1, 1, 1, 1, 0, 0, 1}, // the same in segments of 42 pixels, the last of 2
	{1, 3, 5, 64, 32, 3, 3, 1, 1, 1, 1, 1},   // bcast: a wide row of 14-column tiles
	{2, 4, 7, 90, 32, 3, 3, 2, 2, 1, 1, 1},   // the same at stride 2
	{1, 8, 9, 20, 128, 3, 3, 2, 2, 1, 1, 1},  // bcast: bands split into parts of their channel blocks
	{1, 6, 70, 30, 32, 3, 3, 2, 2, 1, 1, 1},  // bcast: bands of 3 rows, the last of 2
	{1, 3, 5, 19, 64, 3, 3, 71, 1, 8, 31, 1}, // a band whose rows all lie in the padding (found by FuzzConvShapes)
	// Row-vector tiles (rowVectorShapes).
	{2, 32, 14, 14, 32, 3, 3, 1, 1, 1, 1, 2},
	{1, 32, 28, 28, 32, 3, 3, 2, 2, 1, 1, 8},
	{1, 8, 9, 13, 8, 3, 3, 1, 1, 1, 1, 1},
}

// rowVectorShapes are the planShapes that the blocked kernels tile a vector
// per output row: 8x32 tiles two rows at a time (the last group full or
// not), 4x64 tiles four (the last of 14 rows half empty), at stride 1 and 2.
var rowVectorShapes = planShapes[len(planShapes)-3:]

// The bcast strategy's two layouts, bands and one shared copy, both run on
// planShapes.
func TestPlanShapesCoverBcastLayouts(t *testing.T) {
	seen := map[bool]bool{}
	for _, p := range planShapes {
		if g := newGeom(p); g.bcastFits() && !g.direct {
			seen[g.useBands()] = true
		}
	}
	if !seen[true] || !seen[false] {
		t.Fatalf("bcast layouts covered: bands %v, shared copy %v", seen[true], seen[false])
	}
}

func TestRowVectorShapesTakeRowVectors(t *testing.T) {
	for _, p := range rowVectorShapes {
		if g := newGeom(p); !g.rowVectors(tileMR(g.kg)) {
			t.Errorf("%+v is not tiled by row vectors", p)
		}
	}
}

func TestPlanEpilogues(t *testing.T) {
	// Each shape and epilogue's reference, computed once for all strategies.
	refs := map[[2]int][]float32{}
	allStrategies(t, func(t *testing.T) {
		for i, p := range planShapes {
			w := kerneltest.Rand(p.K*p.C/p.Groups*p.R*p.S, 3)
			x := kerneltest.Rand(p.N*p.C*p.H*p.W, 4)
			pl := NewPlan(p, w)
			ysize := p.N * p.K * p.OutH() * p.OutW()
			for m := range 16 {
				if testing.Short() && m%5 != 0 {
					continue // 0, 5, 10 and 15 still turn each part on and off
				}
				f := epiFlags{m&1 != 0, m&2 != 0, m&4 != 0, m&8 != 0}
				epi := makeEpi(f, p.K, ysize, uint64(m))
				want := refs[[2]int{i, m}]
				if want == nil {
					want = make([]float32, ysize)
					ForwardRef(p, x, w, want, epi)
					refs[[2]int{i, m}] = want
				}
				for _, n := range []int{p.N, 1} { // a plan runs any batch size
					got, check := kerneltest.Guarded(n*ysize/p.N, nil)
					e := epi
					if epi != nil && epi.Residual != nil {
						e2 := *epi
						e2.Residual = epi.Residual[:len(got)]
						e = &e2
					}
					pl.Run(x, got, n, e, make([]float32, pl.WorkspaceSize(n)))
					check(t)
					kerneltest.CheckNMSE(t, fmt.Sprintf("%+v n=%d %+v", p, n, f), got, want[:len(got)], kerneltest.DefaultNMSE)
				}
			}
		}
	})
}

func TestPlanConcurrent(t *testing.T) {
	p := Params{2, 32, 15, 15, 48, 3, 3, 1, 1, 1, 1, 2}
	w := kerneltest.Rand(p.K*p.C/p.Groups*p.R*p.S, 1)
	pl := NewPlan(p, w)
	ysize := p.N * p.K * p.OutH() * p.OutW()
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := kerneltest.Rand(p.N*p.C*p.H*p.W, uint64(i))
			epi := makeEpi(epiFlags{true, true, true, true}, p.K, ysize, uint64(i))
			want := make([]float32, ysize)
			ForwardRef(p, x, w, want, epi)
			got := make([]float32, ysize)
			ws := make([]float32, pl.WorkspaceSize(p.N))
			for range 5 {
				pl.Run(x, got, p.N, epi, ws)
				kerneltest.CheckNMSE(t, "concurrent", got, want, kerneltest.DefaultNMSE)
			}
		}()
	}
	wg.Wait()
}

func TestPlanRunDoesNotAllocate(t *testing.T) {
	allStrategies(t, func(t *testing.T) {
		for _, p := range planShapes {
			pl := NewPlan(p, kerneltest.Rand(p.K*p.C/p.Groups*p.R*p.S, 1))
			x := kerneltest.Rand(p.N*p.C*p.H*p.W, 2)
			y := make([]float32, p.N*p.K*p.OutH()*p.OutW())
			epi := makeEpi(epiFlags{true, true, true, true}, p.K, len(y), 3)
			ws := make([]float32, pl.WorkspaceSize(p.N))
			// Ten runs at least: a worker that wakes late can make one
			// stray allocation, which the average over ten rounds away.
			if a := testing.AllocsPerRun(shortOr(20, 10), func() { pl.Run(x, y, p.N, epi, ws) }); a != 0 {
				t.Errorf("%+v: %v allocations per Run", p, a)
			}
		}
	})
}

func TestValidate(t *testing.T) {
	good := Params{1, 4, 5, 5, 4, 3, 3, 1, 1, 1, 1, 2}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, mut := range []func(*Params){
		func(p *Params) { p.N = 0 },
		func(p *Params) { p.C = -1 },
		func(p *Params) { p.Groups = 3 },
		func(p *Params) { p.Groups = 0 },
		func(p *Params) { p.StrideH = 0 },
		func(p *Params) { p.PadW = -1 },
		func(p *Params) { p.R = 9 },
		func(p *Params) { p.H, p.W, p.C = 1<<20, 1<<20, 1<<20 },
		func(p *Params) { p.N = math.MaxInt / 2 },
		func(p *Params) { p.PadH = math.MaxInt / 2 },
		func(p *Params) { p.PadH, p.PadW, p.StrideH, p.StrideW = 1<<29, 1<<29, 1<<30, 1<<30 },
	} {
		p := good
		mut(&p)
		if p.Validate() == nil {
			t.Errorf("%+v: accepted", p)
		}
	}
}

func FuzzConvShapes(f *testing.F) {
	f.Add(1, 3, 5, 5, 2, 3, 3, 1, 1, 1, 1, 1)
	f.Add(2, 4, 7, 6, 8, 3, 1, 2, 1, 0, 1, 2)
	f.Add(1, 8, 4, 4, 8, 1, 1, 1, 1, 0, 0, 4)
	f.Add(1, 2, 3, 3, 2, 7, 7, 2, 2, 3, 3, 1)
	f.Add(0, -1, math.MaxInt/4, 3, math.MaxInt/2, 3, 3, 0, 1, -4, 1, 0)
	f.Fuzz(func(t *testing.T, n, c, h, w, k, r, s, sh, sw, ph, pw, g int) {
		p := Params{n, c, h, w, k, r, s, sh, sw, ph, pw, g}
		if p.Validate() != nil || macs(p) > 200_000 || p.N*p.C*p.H*p.W > 50_000 || p.C*p.R*p.S*p.OutH()*p.OutW() > 200_000 {
			return
		}
		checkForward(t, p, epiFlags{true, true, true, true}, 1, true)
	})
}
