package conv

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/dla-go/dla/internal/kernel/kerneltest"
	"github.com/dla-go/dla/internal/kernel/parallel"
)

// stemCases are DLA's stem at a few input sizes and odd variants of it:
// partial 28- and 14-pixel tiles, other kernel sizes and paddings, more
// input and output channels, and images a tile or a row wide.
func stemCases() [][3]Params {
	stem := func(c, h, w, r0, pad0, r1, k2 int) [3]Params {
		p0 := Params{1, c, h, w, 16, r0, r0, 1, 1, pad0, pad0, 1}
		p1 := Params{1, 16, p0.OutH(), p0.OutW(), 16, r1, r1, 1, 1, r1 / 2, r1 / 2, 1}
		p2 := Params{1, 16, p1.OutH(), p1.OutW(), k2, 3, 3, 2, 2, 1, 1, 1}
		return [3]Params{p0, p1, p2}
	}
	return [][3]Params{
		stem(3, 224, 224, 7, 3, 3, 32),
		stem(3, 64, 64, 7, 3, 3, 32),
		stem(3, 37, 29, 7, 3, 3, 64),
		stem(2, 13, 67, 7, 3, 3, 32),
		stem(1, 5, 4, 7, 3, 3, 32),
		stem(1, 9, 30, 3, 1, 3, 32),
		stem(5, 17, 57, 5, 0, 1, 96),
		stem(3, 1, 1, 7, 3, 3, 32),
		stem(2, 6, 3, 3, 2, 5, 32),
	}
}

// The fused stem matches the three reference convolutions, each with its
// shift and, or not, its ReLU, on one to three workers, in every form
// StemFits accepts here: on AVX-512 all of them, on AVX2 the cases with
// DLA's first two kernels (7x7 pad 3, 3x3 pad 1), with Winograd.
func TestStemMatchesRef(t *testing.T) {
	if !StemFits(stemCases()[0], true) {
		t.Skip("no fused stem on this CPU")
	}
	for ci, p := range stemCases() {
		if haveTile && !StemFits(p, false) {
			t.Fatalf("%+v: StemFits rejects a stem", p)
		}
		checkStem(t, p, uint64(ci))
	}
}

// checkStem checks the stem p with and without Winograd, where StemFits
// accepts it.
func checkStem(t *testing.T, p [3]Params, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 3))
	var w, shift [3][]float32
	var relu [3]bool
	for i, q := range p {
		w[i] = kerneltest.Rand(q.K*q.C*q.R*q.S, 10*seed+uint64(i))
		shift[i] = kerneltest.Rand(q.K, 10*seed+uint64(i)+5)
		relu[i] = r.IntN(3) > 0
	}
	x := kerneltest.Rand(p[0].C*p[0].H*p[0].W, seed)
	want := x
	for i, q := range p {
		out := make([]float32, q.K*q.OutH()*q.OutW())
		ForwardRef(q, want, w[i], out, &Epilogue{Shift: shift[i], ReLU: relu[i]})
		want = out
	}
	for _, winograd := range []bool{true, false} {
		if !StemFits(p, winograd) {
			continue
		}
		s := NewStem(p, w, shift, relu, winograd)
		for _, workers := range []int{1, 2, 3} {
			func() {
				defer parallel.SetWorkers(parallel.SetWorkers(workers))
				got, check := kerneltest.Guarded(len(want), kerneltest.Rand(len(want), 9))
				ws := kerneltest.Rand(s.WorkspaceSize(), 8) // stale data, as the engine's
				s.Run(x, got, ws)
				check(t)
				kerneltest.CheckNMSE(t, fmt.Sprintf("%+v relu=%v winograd=%v workers=%d", p, relu, winograd, workers), got, want, kerneltest.DefaultNMSE)
			}()
		}
	}
}

// FuzzStem draws stems of every kernel size and padding StemFits accepts,
// square or not, with 1-4 input channels and one or two 32-channel blocks.
func FuzzStem(f *testing.F) {
	f.Add(uint64(1), 3, 17, 23, 7, 7, 3, 3, 3, 3, 1, 1, 3, 3, 1, 1, 1)
	f.Add(uint64(2), 1, 1, 1, 3, 3, 1, 1, 1, 1, 0, 0, 3, 3, 1, 1, 2)
	f.Add(uint64(3), 2, 5, 40, 1, 3, 0, 2, 5, 2, 2, 0, 2, 4, 0, 3, 1)
	f.Fuzz(func(t *testing.T, seed uint64, c, h, w, r0, s0, ph0, pw0, r1, s1, ph1, pw1, r2, s2, ph2, pw2, blocks int) {
		small := func(v, lo, hi int) bool { return v >= lo && v <= hi }
		if !small(c, 1, 4) || !small(h, 1, 40) || !small(w, 1, 60) || !small(blocks, 1, 2) {
			return
		}
		for _, k := range []int{r0, s0, r1, s1, r2, s2} {
			if !small(k, 1, 7) {
				return
			}
		}
		for _, pad := range []int{ph0, pw0, ph1, pw1, ph2, pw2} {
			if !small(pad, 0, 5) {
				return
			}
		}
		p0 := Params{1, c, h, w, 16, r0, s0, 1, 1, ph0, pw0, 1}
		if p0.Validate() != nil {
			return
		}
		p1 := Params{1, 16, p0.OutH(), p0.OutW(), 16, r1, s1, 1, 1, ph1, pw1, 1}
		if p1.Validate() != nil {
			return
		}
		p := [3]Params{p0, p1, {1, 16, p1.OutH(), p1.OutW(), 32 * blocks, r2, s2, 2, 2, ph2, pw2, 1}}
		if !StemFits(p, true) {
			return
		}
		checkStem(t, p, seed)
	})
}

func TestStemFits(t *testing.T) {
	good := stemCases()[0]
	if (haveTile || haveAVX2) && !StemFits(good, true) {
		t.Fatal("DLA's stem rejected")
	}
	if haveTile != StemFits(good, false) {
		t.Errorf("DLA's stem without Winograd: accepted %v with AVX-512 %v", !haveTile, haveTile)
	}
	// A first layer with no Winograd kernel needs the AVX-512 direct ones.
	if other := stemCases()[5]; haveTile != StemFits(other, true) {
		t.Errorf("%+v: accepted %v with AVX-512 %v", other, !haveTile, haveTile)
	}
	for _, mut := range []func(p *[3]Params){
		func(p *[3]Params) { p[0].K = 32 },
		func(p *[3]Params) { p[0].StrideH = 2 },
		func(p *[3]Params) { p[1].Groups = 2 },
		func(p *[3]Params) { p[2].K = 48 },
		func(p *[3]Params) { p[2].StrideW = 1 },
		func(p *[3]Params) { p[1].H = 100 },
		func(p *[3]Params) { p[0].R = 0 },
	} {
		p := good
		mut(&p)
		if StemFits(p, true) {
			t.Errorf("%+v: accepted", p)
		}
	}
}

func TestStemRunDoesNotAllocate(t *testing.T) {
	p := stemCases()[2]
	if !StemFits(p, true) {
		t.Skip("no fused stem on this CPU")
	}
	var w, shift [3][]float32
	for i, q := range p {
		w[i], shift[i] = kerneltest.Rand(q.K*q.C*q.R*q.S, 1), kerneltest.Rand(q.K, 2)
	}
	x := kerneltest.Rand(p[0].C*p[0].H*p[0].W, 3)
	y := make([]float32, p[2].K*p[2].OutH()*p[2].OutW())
	for _, winograd := range []bool{true, false} {
		if !StemFits(p, winograd) {
			continue
		}
		s := NewStem(p, w, shift, [3]bool{true, true, true}, winograd)
		ws := make([]float32, s.WorkspaceSize())
		if a := testing.AllocsPerRun(20, func() { s.Run(x, y, ws) }); a != 0 {
			t.Errorf("winograd=%v: %v allocations per Run", winograd, a)
		}
	}
}
