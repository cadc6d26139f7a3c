package conv

import (
	"fmt"
	"slices"
	"testing"

	"github.com/dla-go/dla/internal/kernel/kerneltest"
)

func TestBackwardMatchesRef(t *testing.T) {
	cases := append(oddCases(shortOr(100, 20), shortOr(300_000, 100_000)),
		// Stride 1 on images large enough for the transposed-convolution path.
		Params{1, 8, 24, 24, 8, 3, 3, 1, 1, 1, 1, 2},
		Params{2, 4, 32, 20, 6, 5, 3, 1, 1, 2, 0, 1},
		Params{1, 16, 23, 25, 32, 7, 7, 1, 1, 3, 3, 4},
		// Batches processed several images at a time, over more than one chunk.
		Params{5, 3, 40, 40, 8, 3, 3, 1, 1, 1, 1, 1},
		Params{5, 6, 80, 78, 4, 3, 3, 2, 2, 1, 1, 2},
		Params{7, 8, 6, 5, 12, 1, 1, 1, 1, 0, 0, 4},
	)
	for i, p := range cases {
		gsize, wsize, ysize := p.N*p.C*p.H*p.W, p.K*p.C/p.Groups*p.R*p.S, p.N*p.K*p.OutH()*p.OutW()
		x := kerneltest.Rand(gsize, uint64(i))
		w := kerneltest.Rand(wsize, uint64(i)+1)
		dy := kerneltest.Rand(ysize, uint64(i)+2)
		x0, w0, dy0 := slices.Clone(x), slices.Clone(w), slices.Clone(dy)
		wantDx, wantDw, wantDb := make([]float32, gsize), make([]float32, wsize), make([]float32, p.K)
		BackwardDataRef(p, dy, w, wantDx)
		BackwardFilterRef(p, x, dy, wantDw)
		BackwardBiasRef(p, dy, wantDb)
		variants(t, func(name string) {
			if forced != -1 {
				return // the backward passes have a single strategy each
			}
			ws := make([]float32, BackwardWorkspaceSize(p))
			dx, checkDx := kerneltest.Guarded(gsize, kerneltest.Rand(gsize, 5))
			BackwardData(p, dy, w, dx, ws)
			checkDx(t)
			dw, checkDw := kerneltest.Guarded(wsize, kerneltest.Rand(wsize, 6))
			BackwardFilter(p, x, dy, dw, ws)
			checkDw(t)
			db, checkDb := kerneltest.Guarded(p.K, nil)
			BackwardBias(p, dy, db)
			checkDb(t)
			kerneltest.Unchanged(t, "x", x, x0)
			kerneltest.Unchanged(t, "w", w, w0)
			kerneltest.Unchanged(t, "dy", dy, dy0)
			tag := fmt.Sprintf("%s %+v", name, p)
			kerneltest.CheckNMSE(t, "dx "+tag, dx, wantDx, kerneltest.DefaultNMSE)
			kerneltest.CheckNMSE(t, "dw "+tag, dw, wantDw, kerneltest.DefaultNMSE)
			kerneltest.CheckNMSE(t, "db "+tag, db, wantDb, kerneltest.DefaultNMSE)
		})
	}
}

// conv64 is an independent float64 convolution (gather form) for finite differences.
func conv64(p Params, x, w []float64) []float64 {
	oh, ow, cg, kg := p.OutH(), p.OutW(), p.C/p.Groups, p.K/p.Groups
	y := make([]float64, p.N*p.K*oh*ow)
	for n := range p.N {
		for k := range p.K {
			for i := range oh {
				for j := range ow {
					var s float64
					for c := range cg {
						ci := k/kg*cg + c
						for r := range p.R {
							for q := range p.S {
								h, v := i*p.StrideH+r-p.PadH, j*p.StrideW+q-p.PadW
								if h >= 0 && h < p.H && v >= 0 && v < p.W {
									s += x[((n*p.C+ci)*p.H+h)*p.W+v] * w[((k*cg+c)*p.R+r)*p.S+q]
								}
							}
						}
					}
					y[((n*p.K+k)*oh+i)*ow+j] = s
				}
			}
		}
	}
	return y
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func TestBackwardFiniteDifferences(t *testing.T) {
	for _, p := range []Params{
		{2, 4, 5, 6, 6, 3, 3, 1, 1, 1, 1, 2},
		{1, 3, 7, 5, 2, 3, 1, 2, 1, 1, 0, 1},
		{2, 4, 4, 4, 8, 1, 1, 1, 1, 0, 0, 4},
		{1, 2, 6, 6, 3, 7, 7, 2, 2, 3, 3, 1},
	} {
		x := kerneltest.Rand(p.N*p.C*p.H*p.W, 1)
		w := kerneltest.Rand(p.K*p.C/p.Groups*p.R*p.S, 2)
		gy := kerneltest.Rand(p.N*p.K*p.OutH()*p.OutW(), 3)
		x64, w64, g64 := to64(x), to64(w), to64(gy)
		dot := func(y []float64) (s float64) {
			for i := range y {
				s += y[i] * g64[i]
			}
			return s
		}
		ws := make([]float32, BackwardWorkspaceSize(p))
		dx := make([]float32, len(x))
		BackwardData(p, gy, w, dx, ws)
		kerneltest.GradCheck(t, fmt.Sprintf("dx %+v", p), 1e-3, x64, func(v []float64) float64 { return dot(conv64(p, v, w64)) }, dx)
		dw := make([]float32, len(w))
		BackwardFilter(p, x, gy, dw, ws)
		kerneltest.GradCheck(t, fmt.Sprintf("dw %+v", p), 1e-3, w64, func(v []float64) float64 { return dot(conv64(p, x64, v)) }, dw)
	}
}

func TestBackwardChunks(t *testing.T) {
	for _, c := range []struct {
		p    Params
		want int
	}{
		{Params{5, 3, 40, 40, 8, 3, 3, 1, 1, 1, 1, 1}, 3},    // 1600 columns an image
		{Params{128, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1, 1}, 64}, // 64 columns an image
		{Params{16, 3, 224, 224, 16, 7, 7, 1, 1, 3, 3, 1}, 1},
	} {
		g := newGeom(c.p)
		if got := g.backwardChunk(c.p.N); got != c.want {
			t.Errorf("%+v: %d images a chunk, want %d", c.p, got, c.want)
		}
	}
}
