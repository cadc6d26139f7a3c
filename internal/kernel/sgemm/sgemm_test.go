package sgemm

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/dla-go/dla/internal/kernel/kerneltest"
	"github.com/dla-go/dla/internal/kernel/parallel"
)

// forEachVariant runs f once per available variant, generic included.
func forEachVariant(t *testing.T, f func(t *testing.T)) {
	for _, name := range Variants() {
		t.Run(name, func(t *testing.T) {
			defer UseVariant(name)()
			f(t)
		})
	}
}

// gemmCase is one product; lda/ldb/ldc pads are added to the natural widths.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	pad            int
}

func (g gemmCase) String() string {
	return fmt.Sprintf("tA=%v,tB=%v,%dx%dx%d,a=%g,b=%g,pad=%d", g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.beta, g.pad)
}

// check runs Sgemm on g against SgemmRef with guard bands, unchanged inputs and NMSE.
func (g gemmCase) check(t testing.TB, seed uint64) {
	t.Helper()
	ar, ac := g.m, g.k
	if g.transA {
		ar, ac = ac, ar
	}
	br, bc := g.k, g.n
	if g.transB {
		br, bc = bc, br
	}
	lda, ldb, ldc := max(1, ac+g.pad), max(1, bc+g.pad), max(1, g.n+g.pad)
	a := kerneltest.Rand(ar*lda, seed)
	b := kerneltest.Rand(br*ldb, seed+1)
	c0 := kerneltest.Rand(g.m*ldc, seed+2)
	if g.beta == 0 {
		for i := range c0 {
			c0[i] = float32(math.NaN()) // beta == 0 must not read C
		}
	}
	want := slices.Clone(c0)
	SgemmRef(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, want, ldc)
	a0, b0 := slices.Clone(a), slices.Clone(b)
	got, guard := kerneltest.Guarded(len(c0), c0)
	Sgemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, got, ldc)
	guard(t)
	kerneltest.Unchanged(t, "a", a, a0)
	kerneltest.Unchanged(t, "b", b, b0)
	// Padding between rows is not part of C and must keep its value.
	for i := range g.m {
		for j := g.n; j < ldc && i*ldc+j < len(got); j++ {
			if math.Float32bits(got[i*ldc+j]) != math.Float32bits(c0[i*ldc+j]) {
				t.Fatalf("%v: padding at row %d col %d written", g, i, j)
			}
			got[i*ldc+j], want[i*ldc+j] = 0, 0
		}
	}
	kerneltest.CheckNMSE(t, g.String(), got, want, kerneltest.DefaultNMSE)
}

// edgeSizes are odd sizes and sizes around every tier's MR, NR and tail widths.
var edgeSizes = []int{1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 16, 17, 24, 25, 31, 32, 33, 40, 63, 65}

func TestSgemmShapes(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		seed := uint64(1)
		for _, m := range edgeSizes {
			for _, n := range edgeSizes {
				for _, k := range []int{1, 3, 17} {
					for tr := range 4 {
						g := gemmCase{transA: tr&1 != 0, transB: tr&2 != 0, m: m, n: n, k: k, alpha: 1, beta: 0}
						g.check(t, seed)
						seed++
					}
				}
			}
		}
	})
}

func TestSgemmBlocks(t *testing.T) {
	// Shapes that cross KC, MC and NC boundaries of every tier and need
	// several blocks per worker.
	cases := []gemmCase{
		{m: 257, n: 129, k: 300, alpha: 1},
		{m: 33, n: 1030, k: 513, alpha: 0.5, beta: 2, pad: 3},
		{m: 300, n: 17, k: 770, alpha: -1, beta: 1},
		{transA: true, m: 129, n: 257, k: 255, alpha: 1.5, beta: -0.5, pad: 1},
		{transB: true, m: 65, n: 600, k: 257, alpha: 1},
		{transA: true, transB: true, m: 520, n: 63, k: 129, alpha: 1, beta: 1, pad: 7},
		// A 1x1 convolution at 7x7: B packed once for all row blocks (AVX2).
		{m: 1000, n: 49, k: 600, alpha: 1, beta: 0.5},
		// Row strides that are multiples of 4 KiB, where narrow panels are packed.
		{m: 20, n: 1024, k: 40, alpha: 1},
		{m: 9, n: 40, k: 33, alpha: 1, beta: 1, pad: 984},
	}
	forEachVariant(t, func(t *testing.T) {
		for workers := range []int{1, 2, 3} {
			if testing.Short() && workers == 1 {
				continue // under emulation: one worker and three cover the splits
			}
			old := parallel.SetWorkers(workers + 1)
			for i, g := range cases {
				g.check(t, uint64(100+i))
			}
			parallel.SetWorkers(old)
		}
	})
}

func TestSgemmAlphaBeta(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		for _, alpha := range []float32{0, 1, -2.5} {
			for _, beta := range []float32{0, 1, 0.5} {
				for _, pad := range []int{0, 5} {
					for tr := range 4 {
						g := gemmCase{transA: tr&1 != 0, transB: tr&2 != 0, m: 37, n: 45, k: 29, alpha: alpha, beta: beta, pad: pad}
						g.check(t, uint64(tr))
					}
				}
			}
		}
		// k == 0 leaves beta*C.
		gemmCase{m: 5, n: 7, k: 0, alpha: 1, beta: 0.5}.check(t, 9)
		gemmCase{m: 5, n: 7, k: 0, alpha: 1, beta: 0}.check(t, 9)
	})
}

func TestSgemmEmpty(t *testing.T) {
	Sgemm(false, false, 0, 0, 0, 1, nil, 1, nil, 1, 0, nil, 1)
	Sgemm(false, false, 0, 5, 3, 1, nil, 3, make([]float32, 15), 5, 0, nil, 5)
}

func TestSgemmBadArgs(t *testing.T) {
	bad := map[string]func(){
		"negative": func() { Sgemm(false, false, -1, 1, 1, 1, nil, 1, nil, 1, 0, nil, 1) },
		"lda": func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 1, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		},
		"short a": func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		},
		"short c": func() {
			Sgemm(true, true, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
		},
		"epilogue": func() {
			PackA(false, 2, 1, []float32{1, 2}, 1).Mul(1, []float32{1}, 1, make([]float32, 2), 1, &Epilogue{Scale: []float32{1}})
		},
	}
	kerneltest.Panics(t, bad)
}

// epilogues returns every combination of the epilogue's parts for an m x n
// output (residual with stride ldr).
func epilogues(m, n, ldr int) []*Epilogue {
	scale := kerneltest.Rand(m, 71)
	shift := kerneltest.Rand(m, 72)
	res := kerneltest.Rand((m-1)*ldr+n, 73)
	out := []*Epilogue{nil}
	for mask := range 16 {
		e := &Epilogue{ReLU: mask&8 != 0}
		if mask&1 != 0 {
			e.Scale = scale
		}
		if mask&2 != 0 {
			e.Shift = shift
		}
		if mask&4 != 0 {
			e.Residual, e.ResidualLd = res, ldr
		}
		out = append(out, e)
	}
	return out
}

// checkMul compares PackedA.Mul with MulRef for one shape and epilogue.
func checkMul(t testing.TB, transA bool, m, n, k, pad int, epi *Epilogue) {
	t.Helper()
	lda := max(1, k+pad)
	if transA {
		lda = m + pad
	}
	ldb, ldc := n+pad, n+pad
	a := kerneltest.Rand(max(m, k)*lda, 5)
	b := kerneltest.Rand(k*ldb, 6)
	want := make([]float32, m*ldc)
	MulRef(transA, m, n, k, a, lda, b, ldb, want, ldc, epi)
	pa := PackA(transA, m, k, a, lda)
	if pa.M() != m || pa.K() != k {
		t.Fatalf("PackA dims %dx%d, want %dx%d", pa.M(), pa.K(), m, k)
	}
	a0, b0 := slices.Clone(a), slices.Clone(b)
	nan := make([]float32, len(want))
	for i := range nan {
		nan[i] = float32(math.NaN())
	}
	got, guard := kerneltest.Guarded(len(want), nan)
	pa.Mul(n, b, ldb, got, ldc, epi)
	guard(t)
	kerneltest.Unchanged(t, "a", a, a0)
	kerneltest.Unchanged(t, "b", b, b0)
	for i := range m {
		for j := n; j < ldc && i*ldc+j < len(got); j++ {
			got[i*ldc+j] = 0
		}
	}
	kerneltest.CheckNMSE(t, fmt.Sprintf("Mul tA=%v %dx%dx%d pad %d epi %+v", transA, m, n, k, pad, epi), got, want, kerneltest.DefaultNMSE)
}

func TestMulEpilogues(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		for _, s := range [][3]int{{1, 1, 1}, {7, 13, 5}, {17, 33, 31}, {64, 100, 72}, {33, 65, 300}} {
			m, n, k := s[0], s[1], s[2]
			for _, pad := range []int{0, 3} {
				for _, epi := range epilogues(m, n, n+2) {
					checkMul(t, pad == 3, m, n, k, pad, epi)
				}
			}
		}
		checkMul(t, false, 130, 785, 600, 1, epilogues(130, 785, 790)[16])
		checkMul(t, false, 5, 6, 0, 0, epilogues(5, 6, 6)[16])
	})
}

// TestMulSerial checks MulSerial on column ranges of a wider B and C, as
// Winograd's tile blocks call it.
func TestMulSerial(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		for _, s := range [][4]int{{1, 1, 1, 0}, {8, 25, 64, 24}, {64, 98, 64, 98}, {130, 13, 300, 36}, {17, 33, 31, 5}, {5, 6, 0, 1}} {
			m, n, k, off := s[0], s[1], s[2], s[3]
			ld := n + off + 7
			a := kerneltest.Rand(m*k, 3)
			b := kerneltest.Rand(max(k*ld, 1), 4)
			want := make([]float32, m*ld)
			MulRef(false, m, n, k, a, max(k, 1), b[off:], ld, want[off:], ld, nil)
			got := make([]float32, m*ld)
			PackA(false, m, k, a, max(k, 1)).MulSerial(n, b[off:], ld, got[off:], ld)
			kerneltest.CheckNMSE(t, fmt.Sprintf("MulSerial %dx%dx%d at column %d", m, n, k, off), got, want, kerneltest.DefaultNMSE)
		}
	})
}

func TestMulConcurrent(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		const m, n, k = 40, 150, 70
		a := kerneltest.Rand(m*k, 1)
		pa := PackA(false, m, k, a, k)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				b := kerneltest.Rand(k*n, uint64(g))
				epi := epilogues(m, n, n)[16]
				want := make([]float32, m*n)
				MulRef(false, m, n, k, a, k, b, n, want, n, epi)
				got := make([]float32, m*n)
				for range 5 {
					pa.Mul(n, b, n, got, n, epi)
					kerneltest.CheckNMSE(t, "concurrent Mul", got, want, kerneltest.DefaultNMSE)
				}
			})
		}
		wg.Wait()
	})
}

func TestMulNoAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts need a quiet runtime")
	}
	old := parallel.SetWorkers(2) // fan out even under -cpu 1
	defer parallel.SetWorkers(old)
	forEachVariant(t, func(t *testing.T) {
		const m, n, k = 64, 300, 200
		pa := PackA(false, m, k, kerneltest.Rand(m*k, 1), k)
		b := kerneltest.Rand(k*n, 2)
		c := make([]float32, m*n)
		epi := epilogues(m, n, n)[16]
		for range 5 {
			pa.Mul(n, b, n, c, n, epi) // fill the buffer and job free lists
		}
		// A worker that wakes late may still hold the previous call's
		// parallel job, so that a call makes one more job for the free
		// list; averaged over 100 calls that rounds to 0.
		if allocs := testing.AllocsPerRun(100, func() { pa.Mul(n, b, n, c, n, epi) }); allocs != 0 {
			t.Fatalf("Mul allocates %v times per call", allocs)
		}
	})
}

func FuzzSgemm(f *testing.F) {
	f.Add(uint8(3), uint8(5), uint8(7), uint8(0), uint8(1))
	f.Add(uint8(17), uint8(33), uint8(65), uint8(3), uint8(0))
	f.Add(uint8(1), uint8(1), uint8(1), uint8(2), uint8(2))
	f.Fuzz(func(t *testing.T, m, n, k, trans, pad uint8) {
		// Bounded sizes keep the reference fast; 200 still crosses NR, MR and KC.
		g := gemmCase{
			transA: trans&1 != 0, transB: trans&2 != 0,
			m: int(m) % 200, n: int(n) % 200, k: int(k) % 300,
			alpha: 1, beta: float32(trans>>2&3) * 0.5, pad: int(pad % 5),
		}
		for _, name := range Variants() {
			restore := UseVariant(name)
			g.check(t, uint64(m)+uint64(n)<<8)
			restore()
		}
	})
}

func TestNestedInParallelFor(t *testing.T) {
	old := parallel.SetWorkers(2)
	defer parallel.SetWorkers(old)
	const m, n, k = 96, 200, 150
	a := kerneltest.Rand(m*k, 1)
	b := kerneltest.Rand(k*n, 2)
	want := make([]float32, m*n)
	SgemmRef(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	pa := PackA(false, m, k, a, k)
	outs := make([][]float32, 8)
	parallel.For(len(outs), 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			outs[i] = make([]float32, m*n)
			if i%2 == 0 {
				Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, outs[i], n)
			} else {
				pa.Mul(n, b, n, outs[i], n, nil)
			}
		}
	})
	for i, got := range outs {
		kerneltest.CheckNMSE(t, fmt.Sprintf("nested call %d", i), got, want, kerneltest.DefaultNMSE)
	}
}
