package winograd

import (
	"fmt"
	"sync"
	"testing"

	"github.com/dla-go/dla/internal/kernel/conv"
	"github.com/dla-go/dla/internal/kernel/kerneltest"
	"github.com/dla-go/dla/internal/kernel/parallel"
	"github.com/dla-go/dla/internal/kernel/sgemm"
)

// Winograd reassociates sums and scales them by up to 8*8, so it is held to
// a looser (still tight) NMSE than the GEMM paths' 1e-7.
const winogradNMSE = 1e-6

func checkCase(t *testing.T, n, c, k, h, w int, epi *conv.Epilogue) {
	t.Helper()
	p := conv.Params{N: n, C: c, H: h, W: w, K: k, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 1}
	x := kerneltest.Rand(n*c*h*w, 1)
	wt := kerneltest.Rand(k*c*9, 2)
	want := make([]float32, n*k*h*w)
	conv.ForwardRef(p, x, wt, want, epi)
	pl := NewPlan(p, wt)
	xCopy := append([]float32(nil), x...)
	y, check := kerneltest.Guarded(n*k*h*w, nil)
	ws := make([]float32, pl.WorkspaceSize(n))
	pl.Run(x, y, n, epi, ws)
	check(t)
	kerneltest.Unchanged(t, "x", x, xCopy)
	kerneltest.CheckNMSE(t, fmt.Sprintf("n%d c%d k%d %dx%d", n, c, k, h, w), y, want, winogradNMSE)
}

func TestMatchesReferenceOnOddShapes(t *testing.T) {
	for _, variant := range sgemm.Variants() {
		t.Run(variant, func(t *testing.T) {
			defer sgemm.UseVariant(variant)()
			for _, n := range []int{1, 2} {
				for _, c := range []int{1, 3, 16, 33} {
					for _, k := range []int{1, 7, 32} {
						for _, hw := range [][2]int{{1, 1}, {4, 4}, {5, 7}, {13, 8}, {17, 31}} {
							checkCase(t, n, c, k, hw[0], hw[1], nil)
						}
					}
				}
			}
		})
	}
}

func TestEpilogue(t *testing.T) {
	n, c, k, h, w := 2, 8, 5, 9, 11
	res := kerneltest.Rand(n*k*h*w, 3)
	scale, shift := kerneltest.Rand(k, 4), kerneltest.Rand(k, 5)
	for _, e := range []*conv.Epilogue{
		{Shift: shift},
		{Scale: scale, Shift: shift, ReLU: true},
		{Shift: shift, Residual: res, ReLU: true},
		{Scale: scale, Residual: res},
	} {
		checkCase(t, n, c, k, h, w, e)
	}
}

func TestDLAShapes(t *testing.T) {
	for _, s := range [][3]int{{64, 64, 56}, {128, 128, 28}, {256, 256, 14}, {512, 512, 7}} {
		if testing.Short() && s[0] > 128 {
			continue
		}
		checkCase(t, 1, s[0], s[1], s[2], s[2], &conv.Epilogue{Shift: kerneltest.Rand(s[1], 9), ReLU: true})
	}
}

func TestConcurrentRun(t *testing.T) {
	p := conv.Params{N: 1, C: 16, H: 14, W: 14, K: 24, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 1}
	x := kerneltest.Rand(16*14*14, 1)
	pl := NewPlan(p, kerneltest.Rand(24*16*9, 2))
	want := make([]float32, 24*14*14)
	pl.Run(x, want, 1, nil, make([]float32, pl.WorkspaceSize(1)))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			y := make([]float32, len(want))
			pl.Run(x, y, 1, nil, make([]float32, pl.WorkspaceSize(1)))
			for i := range y {
				if y[i] != want[i] {
					t.Errorf("concurrent run differs at %d", i)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestRunAllocatesNothing(t *testing.T) {
	p := conv.Params{N: 1, C: 16, H: 14, W: 14, K: 24, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 1}
	x := kerneltest.Rand(16*14*14, 1)
	pl := NewPlan(p, kerneltest.Rand(24*16*9, 2))
	y := make([]float32, 24*14*14)
	ws := make([]float32, pl.WorkspaceSize(1))
	epi := &conv.Epilogue{ReLU: true}
	pl.Run(x, y, 1, epi, ws)
	if a := testing.AllocsPerRun(10, func() { pl.Run(x, y, 1, epi, ws) }); a != 0 {
		t.Errorf("Run allocated %.1f times", a)
	}
}

func BenchmarkDLA3x3(b *testing.B) {
	for _, s := range [][3]int{{64, 64, 56}, {128, 128, 28}, {256, 256, 14}, {512, 512, 7}} {
		p := conv.Params{N: 1, C: s[0], H: s[2], W: s[2], K: s[1], R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 1}
		for _, blocks := range []bool{true, false} {
			b.Run(fmt.Sprintf("%dx%d@%d/blocks=%v", s[0], s[1], s[2], blocks), func(b *testing.B) {
				defer func(v bool) { useBlocks = v }(useBlocks)
				useBlocks = blocks
				pl := NewPlan(p, kerneltest.Rand(s[0]*s[1]*9, 1))
				x := kerneltest.Rand(s[0]*s[2]*s[2], 2)
				y := make([]float32, s[1]*s[2]*s[2])
				ws := make([]float32, pl.WorkspaceSize(1))
				for b.Loop() {
					pl.Run(x, y, 1, nil, ws)
				}
				macs := float64(s[0] * s[1] * 9 * s[2] * s[2])
				b.ReportMetric(2*macs/(b.Elapsed().Seconds()/float64(b.N))/1e9, "effective-GFLOP/s")
			})
		}
	}
}

func TestRowKernelsMatchGeneric(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 17, 64, 67} {
		stride := n + 3
		in := kerneltest.Rand(6*stride, uint64(n))
		for _, k := range []struct {
			name string
			rows int
			fast func([]float32, int, []float32, int, int)
			ref  func([]float32, int, []float32, int, int)
		}{{"input", 6, inputRows, inputRowsGeneric}, {"output", 4, outputRows, outputRowsGeneric}} {
			got, check := kerneltest.Guarded(k.rows*stride, nil)
			want := make([]float32, k.rows*stride)
			k.fast(in, stride, got, stride, n)
			k.ref(in, stride, want, stride, n)
			check(t)
			kerneltest.CheckNMSE(t, fmt.Sprintf("%s n=%d", k.name, n), got, want, 1e-12)
		}
	}
}

// Images inside wider buffers (as in a concatenation) give the same result as
// packed ones, and nothing outside each image's slice is written.
func TestRunStrided(t *testing.T) {
	for _, hw := range [][2]int{{7, 9}, {28, 30}} { // the three phases; tile blocks (with AVX-512)
		t.Run(fmt.Sprintf("%dx%d", hw[0], hw[1]), func(t *testing.T) { checkStrided(t, hw[0], hw[1]) })
	}
}

func checkStrided(t *testing.T, h, w int) {
	n, c, k := 3, 8, 6
	hw := h * w
	xs, ys, rs := (c+3)*hw, (k+5)*hw, (k+2)*hw
	p := conv.Params{N: n, C: c, H: h, W: w, K: k, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 1}
	wt := kerneltest.Rand(k*c*9, 1)
	pl := NewPlan(p, wt)
	dense := kerneltest.Rand(n*c*hw, 2)
	res := kerneltest.Rand(n*k*hw, 3)
	want := make([]float32, n*k*hw)
	epi := &conv.Epilogue{Shift: kerneltest.Rand(k, 4), ReLU: true, Residual: res}
	conv.ForwardRef(p, dense, wt, want, epi)

	x := kerneltest.Rand((n-1)*xs+c*hw, 5)
	resWide := kerneltest.Rand((n-1)*rs+k*hw, 6)
	for i := range n {
		copy(x[i*xs:], dense[i*c*hw:(i+1)*c*hw])
		copy(resWide[i*rs:], res[i*k*hw:(i+1)*k*hw])
	}
	const sentinel = float32(-7777)
	y := make([]float32, (n-1)*ys+k*hw)
	for i := range y {
		y[i] = sentinel
	}
	pl.RunStrided(x, xs, y, ys, rs, n, &conv.Epilogue{Shift: epi.Shift, ReLU: true, Residual: resWide}, make([]float32, pl.WorkspaceSize(n)))
	got := make([]float32, 0, n*k*hw)
	for i := range n {
		got = append(got, y[i*ys:i*ys+k*hw]...)
		for j := i*ys + k*hw; j < min((i+1)*ys, len(y)); j++ {
			if y[j] != sentinel {
				t.Fatalf("write between images at %d", j)
			}
		}
	}
	kerneltest.CheckNMSE(t, "strided", got, want, winogradNMSE)
}

// Small planes take the lane transforms (lanes.go, or quarters.go for
// planes of whole groups of 16 tiles in rows of 4) where the CPU has
// them; both ways match the reference, with every part of the epilogue and
// whole batches, on one group of 16 tiles, several and a partial last one.
func TestLanes(t *testing.T) {
	for _, fast := range []bool{useLanes, false} {
		defer func(v bool) { useLanes = v }(useLanes)
		useLanes = fast
		for _, hw := range [][2]int{{13, 13}, {14, 14}, {15, 16}, {16, 13}, {17, 20}, {28, 28}, {9, 30}} {
			h, w := hw[0], hw[1]
			for _, n := range []int{1, 3} {
				k := 9
				res := kerneltest.Rand(n*k*h*w, 3)
				scale, shift := kerneltest.Rand(k, 4), kerneltest.Rand(k, 5)
				for _, e := range []*conv.Epilogue{
					nil,
					{Scale: scale, Shift: shift, ReLU: true},
					{Shift: shift, Residual: res, ReLU: true},
					{Scale: scale, Residual: res},
				} {
					checkCase(t, n, 17, k, h, w, e)
				}
			}
		}
	}
}

// Large planes run by tile blocks where the CPU has the lane transforms:
// both ways match the reference on any number of workers, with batches and
// epilogues, on planes whose tile rows are 7, 10, 33 and 14 tiles wide.
func TestBlocks(t *testing.T) {
	if !useLanes {
		t.Skip("tile blocks need the lane transforms (AVX-512)")
	}
	defer parallel.SetWorkers(parallel.SetWorkers(0))
	for _, workers := range []int{1, 2, 3} {
		parallel.SetWorkers(workers)
		for _, blocks := range []bool{true, false} {
			defer func(v bool) { useBlocks = v }(useBlocks)
			useBlocks = blocks
			for _, hw := range [][2]int{{28, 28}, {23, 37}, {9, 130}, {56, 56}} {
				h, w := hw[0], hw[1]
				for _, n := range []int{1, 2} {
					k := 10
					res := kerneltest.Rand(n*k*h*w, 3)
					shift := kerneltest.Rand(k, 5)
					for _, e := range []*conv.Epilogue{nil, {Shift: shift, Residual: res, ReLU: true}} {
						checkCase(t, n, 19, k, h, w, e)
					}
				}
			}
		}
	}
}

// A plan's tile blocks map every tile of a plane to exactly one lane of one
// group, at most blockGroups groups a block, their columns following each
// other; planes under 32 tiles have no blocks and a column a tile.
func TestTileBlocks(t *testing.T) {
	for _, c := range []struct{ h, w, blocks, cols int }{
		{14, 14, 0, 16},
		{16, 32, 1, 32},  // 4 tile rows of 8: two a group
		{28, 28, 2, 64},  // 7 tile rows of 7: two a group
		{23, 37, 3, 80},  // 6 rows of 10 tiles: quarters of 4, 4 and 2
		{9, 130, 4, 112}, // 3 rows of 33: 8 quarters of 4 and 1
		{56, 56, 7, 224}, // 14 rows of 14: quarters of 4, 4, 4 and 2
	} {
		p := conv.Params{N: 1, C: 1, H: c.h, W: c.w, K: 1, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 1}
		pl := NewPlan(p, make([]float32, 9))
		if pl.blocks() != c.blocks || pl.columns(1) != c.cols {
			t.Errorf("%dx%d: %d blocks, %d columns; want %d, %d", c.h, c.w, pl.blocks(), pl.columns(1), c.blocks, c.cols)
		}
		seen := make([]int, c.h*c.w)
		next := 0
		for b := range pl.blocks() {
			groups, col0 := pl.block(b)
			if col0 != next || len(groups) == 0 || len(groups) > blockGroups {
				t.Fatalf("%dx%d: block at column %d with %d groups after column %d", c.h, c.w, col0, len(groups), next)
			}
			next += 16 * len(groups)
			for _, g := range groups {
				for i, off := range g.outOff {
					for e := range 16 {
						if g.outMask[i]>>e&1 != 0 {
							seen[int(off)+e]++
						}
					}
				}
			}
		}
		for i, n := range seen {
			if pl.blocks() > 0 && n != 1 {
				t.Fatalf("%dx%d: pixel %d written by %d lanes", c.h, c.w, i, n)
			}
		}
	}
}

// The gather-free transforms in assembly match their Go definitions on
// planes whose quarters are full, short, at the edges and missing: the input
// transform stores all 16 lanes of each position and nothing else, the
// output transform writes its tiles' pixels and no others.
func TestQuartersKernelMatchesGeneric(t *testing.T) {
	if !useLanes {
		t.Skip("no AVX-512")
	}
	for _, hw := range [][2]int{{14, 14}, {16, 13}, {28, 28}, {56, 56}, {23, 37}, {9, 130}, {5, 3}, {33, 66}} {
		h, w := hw[0], hw[1]
		qs := tileQuarters(h, w)
		plane := kerneltest.Rand(h*w, 1)
		for i := 0; i < len(qs); i += 3 { // groups of 1 to 4 quarters, overlapping
			g := newQuarterGroup(h, w, qs[i:min(i+1+i%4, len(qs))])
			const posStride = 19
			got, check := kerneltest.Guarded((nPos-1)*posStride+16, kerneltest.Rand((nPos-1)*posStride+16, 2))
			want := append([]float32(nil), got...)
			inputQuarters16(plane, &g, got, posStride)
			inputQuarters16Generic(plane, &g, want, posStride)
			check(t)
			name := fmt.Sprintf("%dx%d quarters %v", h, w, qs[i:min(i+1+i%4, len(qs))])
			kerneltest.CheckNMSE(t, name+" input", got, want, 1e-12)

			prod := kerneltest.Rand((nPos-1)*posStride+16, 3)
			res := kerneltest.Rand(h*w, 4)
			for _, r := range [][]float32{nil, res} {
				for _, relu := range []bool{false, true} {
					y, check := kerneltest.Guarded(h*w, kerneltest.Rand(h*w, 5))
					wantY := kerneltest.Rand(h*w, 5)
					outputQuarters16(prod, posStride, y, r, &g, 0.75, -0.25, relu)
					outputQuarters16Generic(prod, posStride, wantY, r, &g, 0.75, -0.25, relu)
					check(t)
					kerneltest.CheckNMSE(t, fmt.Sprintf("%s output res=%v relu=%v", name, r != nil, relu), y, wantY, 1e-12)
				}
			}
		}
	}
}

// A plan whose weights were replaced computes what a plan made for the new
// weights computes.
func TestSetWeights(t *testing.T) {
	p := conv.Params{N: 2, C: 5, H: 9, W: 11, K: 7, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 1}
	w1, w2 := kerneltest.Rand(p.K*p.C*9, 1), kerneltest.Rand(p.K*p.C*9, 2)
	x := kerneltest.Rand(p.N*p.C*p.H*p.W, 3)
	a := NewPlan(p, w1)
	a.SetWeights(w2)
	b := NewPlan(p, w2)
	ya, yb := make([]float32, p.N*p.K*p.H*p.W), make([]float32, p.N*p.K*p.H*p.W)
	a.Run(x, ya, p.N, nil, make([]float32, a.WorkspaceSize(p.N)))
	b.Run(x, yb, p.N, nil, make([]float32, b.WorkspaceSize(p.N)))
	kerneltest.CheckNMSE(t, "replaced weights", ya, yb, 0)
}
