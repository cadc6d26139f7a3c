package conv

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/dla-go/dla/internal/kernel/kerneltest"
	"github.com/dla-go/dla/internal/kernel/parallel"
)

// BenchmarkConv runs Plan.Run (folded-BN epilogue with ReLU) on the DLA
// shapes at batch 1 on one worker and on GOMAXPROCS workers, and reports
// GFLOP/s as 2*MACs per second:
//
//	go test -run '^$' -bench 'Conv$' -benchtime 20x ./internal/kernel/conv/
func BenchmarkConv(b *testing.B) {
	for _, s := range dlaShapes {
		for _, workers := range workerCounts() {
			b.Run(fmt.Sprintf("%s/workers=%d", s.name, workers), func(b *testing.B) {
				defer parallel.SetWorkers(parallel.SetWorkers(workers))
				benchPlan(b, s.p)
			})
		}
	}
}

func workerCounts() []int {
	if n := runtime.GOMAXPROCS(0); n > 1 {
		return []int{1, n}
	}
	return []int{1}
}

func benchPlan(b *testing.B, p Params) {
	pl := NewPlan(p, kerneltest.Rand(p.K*p.C/p.Groups*p.R*p.S, 1))
	x := kerneltest.Rand(p.N*p.C*p.H*p.W, 2)
	y := make([]float32, p.N*p.K*p.OutH()*p.OutW())
	epi := &Epilogue{Scale: kerneltest.Rand(p.K, 3), Shift: kerneltest.Rand(p.K, 4), ReLU: true}
	ws := make([]float32, pl.WorkspaceSize(p.N))
	for b.Loop() {
		pl.Run(x, y, p.N, epi, ws)
	}
	b.ReportMetric(2*float64(macs(p))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkBackward runs each backward pass of a few DLA training shapes at
// batch 1, on one and on GOMAXPROCS workers (GFLOP/s: 2*MACs per pass).
func BenchmarkBackward(b *testing.B) {
	for _, s := range dlaShapes[4:9] {
		p := s.p
		x := kerneltest.Rand(p.N*p.C*p.H*p.W, 1)
		w := kerneltest.Rand(p.K*p.C/p.Groups*p.R*p.S, 2)
		dy := kerneltest.Rand(p.N*p.K*p.OutH()*p.OutW(), 3)
		dx, dw := make([]float32, len(x)), make([]float32, len(w))
		ws := make([]float32, BackwardWorkspaceSize(p))
		for _, pass := range []struct {
			name string
			run  func()
		}{
			{"data", func() { BackwardData(p, dy, w, dx, ws) }},
			{"filter", func() { BackwardFilter(p, x, dy, dw, ws) }},
		} {
			for _, workers := range workerCounts() {
				b.Run(fmt.Sprintf("%s/%s/workers=%d", s.name, pass.name, workers), func(b *testing.B) {
					defer parallel.SetWorkers(parallel.SetWorkers(workers))
					for b.Loop() {
						pass.run()
					}
					b.ReportMetric(2*float64(macs(p))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkBcast runs the shapes that decided where the bcast kernels run
// (useBcast) on bcast and on the strategy they compete with, GEMM on the
// image for 1x1 convolutions and otherwise the blocked kernels (im2col tiles
// without AVX-512), both workers:
//
//	go test -run '^$' -bench 'Bcast$' -benchtime 50x ./internal/kernel/conv/
func BenchmarkBcast(b *testing.B) {
	for _, s := range []namedShape{
		{"3x3s2_16-32@224", Params{1, 16, 224, 224, 32, 3, 3, 2, 2, 1, 1, 1}},
		{"3x3s2_64-64@112", Params{1, 64, 112, 112, 64, 3, 3, 2, 2, 1, 1, 1}},
		{"3x3s2_128-128@56", Params{1, 128, 56, 56, 128, 3, 3, 2, 2, 1, 1, 1}},
		{"3x3s2_256-256@28", Params{1, 256, 28, 28, 256, 3, 3, 2, 2, 1, 1, 1}},
		{"3x3_512-512@7", Params{1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1}},
		{"3x3_32-32@56", Params{1, 32, 56, 56, 32, 3, 3, 1, 1, 1, 1, 1}},
		{"1x1_2560-1024@7", Params{1, 2560, 7, 7, 1024, 1, 1, 1, 1, 0, 0, 1}},
		{"1x1_256-256@7", Params{1, 256, 7, 7, 256, 1, 1, 1, 1, 0, 0, 1}},
		{"1x1_2304-512@14", Params{1, 2304, 14, 14, 512, 1, 1, 1, 1, 0, 0, 1}},
		{"1x1_256-128@28", Params{1, 256, 28, 28, 128, 1, 1, 1, 1, 0, 0, 1}},
		{"1x1_128-128@28", Params{1, 128, 28, 28, 128, 1, 1, 1, 1, 0, 0, 1}},
		{"1x1_64-128@14", Params{1, 64, 14, 14, 128, 1, 1, 1, 1, 0, 0, 1}},
		{"1x1_64-128@56", Params{1, 64, 56, 56, 128, 1, 1, 1, 1, 0, 0, 1}},
		{"1x1_128-256@28", Params{1, 128, 28, 28, 256, 1, 1, 1, 1, 0, 0, 1}},
		{"1x1_512-256@56", Params{1, 512, 56, 56, 256, 1, 1, 1, 1, 0, 0, 1}},
		{"1x1_256-128@56", Params{1, 256, 56, 56, 128, 1, 1, 1, 1, 0, 0, 1}},
	} {
		rival := blocked
		switch {
		case s.p.R == 1 && s.p.S == 1:
			rival = direct
		case !haveTile:
			rival = tiled
		}
		for _, strat := range []strategy{rival, bcast} {
			name := map[strategy]string{direct: "gemm", blocked: "blocked", tiled: "im2col", bcast: "bcast"}[strat]
			b.Run(s.name+"/"+name, func(b *testing.B) {
				defer func(old strategy) { forced = old }(forced)
				forced = strat
				benchPlan(b, s.p)
			})
		}
	}
}

// BenchmarkStem runs DLA's stem at 224x224 (7x7 3->16, 3x3 16->16, 3x3/s2
// 16->32) fused (Stem) and as three plans, on one worker and on GOMAXPROCS:
//
//	go test -run '^$' -bench 'Stem$' -benchtime 50x ./internal/kernel/conv/
func BenchmarkStem(b *testing.B) {
	p := stemCases()[0]
	if !StemFits(p, true) {
		b.Skip("no fused stem on this CPU")
	}
	var w, shift [3][]float32
	var total int
	for i, q := range p {
		w[i], shift[i] = kerneltest.Rand(q.K*q.C*q.R*q.S, uint64(i)), kerneltest.Rand(q.K, uint64(i+3))
		total += macs(q)
	}
	x := kerneltest.Rand(p[0].C*p[0].H*p[0].W, 7)
	for _, workers := range workerCounts() {
		for _, winograd := range []bool{true, false} {
			if !StemFits(p, winograd) {
				continue
			}
			name := map[bool]string{true: "fused", false: "fused-direct"}[winograd]
			b.Run(fmt.Sprintf("%s/workers=%d", name, workers), func(b *testing.B) {
				defer parallel.SetWorkers(parallel.SetWorkers(workers))
				s := NewStem(p, w, shift, [3]bool{true, true, true}, winograd)
				y := make([]float32, p[2].K*p[2].OutH()*p[2].OutW())
				ws := make([]float32, s.WorkspaceSize())
				for b.Loop() {
					s.Run(x, y, ws)
				}
				b.ReportMetric(2*float64(total)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
		b.Run(fmt.Sprintf("plans/workers=%d", workers), func(b *testing.B) {
			defer parallel.SetWorkers(parallel.SetWorkers(workers))
			var plans [3]*Plan
			var outs [3][]float32
			size := 0
			for i, q := range p {
				plans[i] = NewPlan(q, w[i])
				outs[i] = make([]float32, q.K*q.OutH()*q.OutW())
				size = max(size, plans[i].WorkspaceSize(1))
			}
			ws := make([]float32, size)
			for b.Loop() {
				in := x
				for i := range plans {
					plans[i].Run(in, outs[i], 1, &Epilogue{Shift: shift[i], ReLU: true}, ws)
					in = outs[i]
				}
			}
			b.ReportMetric(2*float64(total)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkCold runs layers whose weights or residual come from memory, as
// in a whole network, whose weights are larger than the L3: each run takes
// the next of enough plans (weights) or residuals to fill 96 MB. cold=false
// repeats one, for the warm figure. These decided the bcast kernels'
// prefetches (item 11 of docs/performance.md):
//
//	go test -run '^$' -bench 'Cold' -benchtime 300x ./internal/kernel/conv/
func BenchmarkCold(b *testing.B) {
	const fill = 96 << 20 // bytes, three times the development machine's L3
	for _, p := range []Params{
		{1, 1024, 7, 7, 1024, 1, 1, 1, 1, 0, 0, 1},
		{1, 2560, 7, 7, 1024, 1, 1, 1, 1, 0, 0, 1},
		{1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1},
		{1, 256, 14, 14, 512, 3, 3, 2, 2, 1, 1, 1},
		{1, 256, 28, 28, 256, 1, 1, 1, 1, 0, 0, 1},
		{1, 512, 14, 14, 512, 1, 1, 1, 1, 0, 0, 1},
	} {
		nw, ny := p.K*p.C*p.R*p.S, p.K*p.OutH()*p.OutW()
		plans := make([]*Plan, max(2, fill/(4*nw)))
		for i := range plans {
			plans[i] = NewPlan(p, kerneltest.Rand(nw, uint64(i)))
		}
		residuals := make([][]float32, max(2, fill/(4*ny)))
		for i := range residuals {
			residuals[i] = kerneltest.Rand(ny, uint64(i))
		}
		x, y := kerneltest.Rand(p.C*p.H*p.W, 2), make([]float32, ny)
		ws := make([]float32, plans[0].WorkspaceSize(1))
		name := fmt.Sprintf("%dx%ds%d_%d-%d@%d", p.R, p.S, p.StrideH, p.C, p.K, p.H)
		for _, what := range []string{"weights", "residual"} {
			for _, cold := range []bool{false, true} {
				b.Run(fmt.Sprintf("%s/%s/cold=%v", name, what, cold), func(b *testing.B) {
					i := 0
					for b.Loop() {
						if cold {
							i++
						}
						pl, epi := plans[0], Epilogue{Scale: plans[0].ones, Shift: plans[0].zeros, ReLU: true}
						if what == "weights" {
							pl = plans[i%len(plans)]
						} else {
							epi.Residual = residuals[i%len(residuals)]
						}
						pl.Run(x, y, 1, &epi, ws)
					}
					b.ReportMetric(2*float64(macs(p))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
