package sgemm

import (
	"slices"
	"sync/atomic"
)

// kernel computes the MR x NR tile c = a*b (accumulate false) or c += a*b
// (accumulate true) from an MR x kc packed panel a (a[p*MR+r]) and a kc x NR
// panel b with row stride ldb (b[p*ldb+j]); c has row stride ldc.
type kernel func(kc int, a, b []float32, ldb int, c []float32, ldc int, accumulate bool)

// rowEpilogue applies the epilogue to one row segment; res is nil or as long as row.
type rowEpilogue func(row []float32, scale, shift float32, res []float32, relu bool)

// variant is one implementation tier: its blocking, micro-kernel and epilogue.
type variant struct {
	name  string
	p     params
	kern  kernel
	tails []tail // narrower kernels for the last columns, narrowest first
	epi   rowEpilogue
	// pack packs the leading columns of a whole MR-row panel of A (not
	// transposed) in vector code and returns how many; nil packs none.
	pack func(dst, src []float32, lda, kc int, alpha float32) int
	// pack4K packs B whose rows are a multiple of 4 KiB apart at any
	// panel width: read in place, a panel's rows all fall in one set of
	// L1 and of L2 and each row is on its own page, which held Zen 5 far
	// below its peak; on convolution shapes (other strides) reading in
	// place is faster.
	pack4K bool
	// packNarrow packs a B of fewer than four panels whose rows are not a
	// whole number of cache lines apart (a 1x1 convolution's input at
	// 7x7): read in place, rows about 200 bytes apart held the AVX2
	// kernel to half its speed (docs/performance.md).
	packNarrow bool
}

// tail is an MR x nr micro-kernel with nr < NR.
type tail struct {
	nr   int
	kern kernel
}

// kernelFor returns the kernel for a panel of cols <= NR columns and its width.
func (v *variant) kernelFor(cols int) (kernel, int) {
	if cols < v.p.NR {
		for _, t := range v.tails {
			if t.nr >= cols {
				return t.kern, t.nr
			}
		}
	}
	return v.kern, v.p.NR
}

var generic = &variant{name: "generic", p: genericParams, kern: kernelGeneric, epi: epilogueRow}

// available lists the variants this CPU runs, fastest first; generic is last.
var available = append(asmVariants(), generic)

// active is the variant new calls use.
var active atomic.Pointer[variant]

func init() { active.Store(available[0]) }

// Variants names the implementations available on this CPU, fastest first
// (the first is the default); "generic" is always last.
func Variants() []string {
	names := make([]string, len(available))
	for i, v := range available {
		names[i] = v.name
	}
	return names
}

// Active names the variant new calls use: the first of Variants() unless a
// test or benchmark chose another.
func Active() string { return active.Load().name }

// UseVariant makes later calls (and later PackA results) use the named
// variant, and returns a func that restores the previous one. It is for tests
// and benchmarks; it panics if name is not in Variants().
func UseVariant(name string) (restore func()) {
	i := slices.IndexFunc(available, func(v *variant) bool { return v.name == name })
	if i < 0 {
		panic("sgemm: variant " + name + " not available")
	}
	old := active.Swap(available[i])
	return func() { active.Store(old) }
}
