// Command _asm generates the sgemm micro-kernels for amd64 with avo.
//
// Each kernel holds an MR x NR tile of C in vector registers: each of the MR
// rows is one or two zmm (16 floats) or ymm (8 floats) registers. One step of
// k loads the NR values of a row of B into registers, broadcasts each of the
// MR values of a column of A in turn and multiplies-adds it into that row's
// accumulators. The AVX-512 kernels with a zmm row take each broadcast
// folded into the FMA's memory operand: with a separate broadcast the 8x16
// tail (which Winograd's 16-tile products at 14x14 run) was bound by its
// loads, folded it runs as fast as 8x32. The epilogue functions apply the
// fused per-row epilogue.
//
// Run from this directory: go run . -out ../micro_amd64.s -stubs ../micro_amd64.go -pkg sgemm
package main

import (
	"fmt"
	"math/bits"
	"slices"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// prefetchRows is how far ahead (in rows of B) the kernels prefetch.
const prefetchRows = 8

// tile is one micro-kernel: MR rows, each held in vectors of the given
// widths (16 floats: zmm, 8 floats: ymm).
type tile struct {
	isa    string // suffix of the function name
	mr     int
	widths []int
	sep    bool   // broadcast each value of A into a register, not into each FMA
	tag    string // told apart from the same shape's other kernel, before isa
	pf     int    // prefetch distance in rows of B: 0 is prefetchRows, -1 none
	// split accumulates even and odd steps of k in two sets of registers,
	// added at the end: one zmm a row gives only MR chains of dependent
	// FMAs, too few to cover the FMA latency of two pipes.
	split bool
}

func (t tile) nr() int {
	n := 0
	for _, w := range t.widths {
		n += w
	}
	return n
}

// offset is where vector v starts in a row, in floats.
func (t tile) offset(v int) int {
	n := 0
	for _, w := range t.widths[:v] {
		n += w
	}
	return n
}

// regs hands out physical vector registers. Any register used as a ymm
// comes from 0-15, where VEX encodes it: numbers 16-31 need AVX512VL for ymm.
// Registers only ever used as zmm take 16-31 first.
type regs struct{ lo, hi int }

func (rs *regs) get(width int, asYMM bool) reg.VecPhysical {
	n := rs.hi
	if asYMM || width == 8 || rs.hi == 32 {
		n = rs.lo
		rs.lo++
	} else {
		rs.hi++
	}
	if n >= 16 && (asYMM || width == 8) || rs.lo > 16 {
		panic("kernel needs more vector registers than amd64 has")
	}
	size := reg.S512
	if width == 8 {
		size = reg.S256
	}
	return reg.Vector.Lookup(reg.Index(n), size).(reg.VecPhysical)
}

func main() {
	ConstraintExpr("!purego")
	// 16 of the 32 zmm registers accumulate: on Zen 4 this beat 14x32, 12x32,
	// 8x48, 6x64 and 16x16 (see params in ../dispatch_amd64.go).
	kernel(tile{isa: "AVX512", mr: 8, widths: []int{16, 16}})
	// Narrower kernels for the last columns when n is not a multiple of 32:
	// Zen 4 runs a ymm FMA in half the time of a zmm one.
	kernel(tile{isa: "AVX512", mr: 8, widths: []int{16, 8}})
	kernel(tile{isa: "AVX512", mr: 8, widths: []int{16}, split: true})
	kernel(tile{isa: "AVX512", mr: 8, widths: []int{8}})
	columnKernel()
	// Zen 5 runs two zmm FMAs a cycle but loads at most two vectors: folded,
	// the 8x32 tile's 16 broadcasts and 2 rows of B are 18 loads a step, so
	// one broadcast per row of A (10 loads) runs nearer the FMA peak. The
	// software prefetch did not pay there (docs/performance.md, "Zen 5").
	kernel(tile{isa: "AVX512", mr: 8, widths: []int{16, 16}, sep: true, tag: "Bcast", pf: -1})
	// 16 ymm registers: 12 accumulators, 2 for the row of B, 1 broadcast.
	kernel(tile{isa: "AVX2", mr: 6, widths: []int{8, 8}})
	kernel(tile{isa: "AVX2", mr: 6, widths: []int{8}})
	pack8()
	pack6()
	cpuid()
	epilogue("AVX512", 16, ZMM, func(r reg.VecVirtual) { VPXORD(r, r, r) })
	epilogue("AVX2", 8, YMM, func(r reg.VecVirtual) { VXORPS(r, r, r) })
	Generate()
}

func kernel(t tile) {
	nr := t.nr()
	nv := len(t.widths)
	name := fmt.Sprintf("kernel%dx%d%s%s", t.mr, nr, t.tag, t.isa)
	TEXT(name, NOSPLIT, "func(kc int, a, b *float32, ldb int, c *float32, ldc int, accumulate bool)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s computes the %dx%d tile c = a*b, or c += a*b when accumulate,", name, t.mr, nr),
		fmt.Sprintf("from the packed panel a (%d x kc, k-major) and the kc x %d panel b with row", t.mr, nr),
		"stride ldb; kc >= 1. It is, in Go:",
		"",
		"\tfor r := range MR {",
		"\t\tfor j := range NR {",
		"\t\t\tvar s float32",
		"\t\t\tfor p := range kc {",
		"\t\t\t\ts += a[p*MR+r] * b[p*ldb+j] // fused multiply-add",
		"\t\t\t}",
		"\t\t\tif accumulate {",
		"\t\t\t\ts += c[r*ldc+j]",
		"\t\t\t}",
		"\t\t\tc[r*ldc+j] = s",
		"\t\t}",
		"\t}",
		"",
		fmt.Sprintf("with MR = %d, NR = %d.", t.mr, nr),
	)

	rs := &regs{hi: 16}
	acc := make([][]reg.VecPhysical, t.mr)
	for r := range acc {
		acc[r] = make([]reg.VecPhysical, nv)
		for v, w := range t.widths {
			acc[r][v] = rs.get(w, false)
			if w == 16 {
				VPXORD(acc[r][v], acc[r][v], acc[r][v]) // VXORPS on zmm would need AVX512DQ
			} else {
				VXORPS(acc[r][v], acc[r][v], acc[r][v])
			}
		}
	}
	kc := Load(Param("kc"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	// B is usually read in place from a big matrix, so fetch the row
	// prefetchRows ahead into L1 (every line it touches) while this one is
	// used, which paid on convolution shapes. Prefetches past the end of B
	// are harmless.
	pfRows := prefetchRows
	if t.pf != 0 {
		pfRows = t.pf
	}
	pf := GP64()
	if pfRows > 0 {
		IMUL3Q(U32(pfRows), ldb, pf)
		ADDQ(b, pf)
	}

	if t.split {
		splitLoop(t, rs, acc, kc, a, b, ldb, pf, pfRows)
	} else {
		loop(t, rs, acc, kc, a, b, ldb, pf, pfRows)
	}

	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	accumulate := Load(Param("accumulate"), GP8())
	TESTB(accumulate, accumulate)
	JZ(LabelRef("store"))
	p := GP64()
	MOVQ(c, p)
	for r := range t.mr {
		for v := range nv {
			VADDPS(Mem{Base: p, Disp: 4 * t.offset(v)}, acc[r][v], acc[r][v])
		}
		if r < t.mr-1 {
			ADDQ(ldc, p)
		}
	}

	Label("store")
	for r := range t.mr {
		for v := range nv {
			VMOVUPS(acc[r][v], Mem{Base: c, Disp: 4 * t.offset(v)})
		}
		if r < t.mr-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}

// loop is the kernel's loop over k, one step at a time.
func loop(t tile, rs *regs, acc [][]reg.VecPhysical, kc, a, b, ldb, pf reg.Register, pfRows int) {
	nr, nv := t.nr(), len(t.widths)
	mixed := slices.Contains(t.widths, 8)
	row := make([]reg.VecPhysical, nv)
	for v, w := range t.widths {
		row[v] = rs.get(w, false)
	}
	// One broadcast register per row of A; its low half feeds ymm FMAs.
	x := rs.get(t.widths[0], mixed)
	Label("loop")
	if pfRows > 0 {
		for off := 0; off < 4*nr; off += 64 {
			PREFETCHT0(Mem{Base: pf, Disp: off})
		}
		PREFETCHT0(Mem{Base: pf, Disp: 4*nr - 4})
		ADDQ(ldb, pf)
	}
	for v := range row {
		VMOVUPS(Mem{Base: b, Disp: 4 * t.offset(v)}, row[v])
	}
	for r := range t.mr {
		if t.isa == "AVX512" && t.widths[0] == 16 && !t.sep {
			for v := range row {
				VFMADD231PS_BCST(Mem{Base: a, Disp: 4 * r}, row[v], acc[r][v])
			}
			continue
		}
		VBROADCASTSS(Mem{Base: a, Disp: 4 * r}, x)
		for v, w := range t.widths {
			if w == 8 {
				VFMADD231PS(row[v], x.AsY(), acc[r][v])
			} else {
				VFMADD231PS(row[v], x, acc[r][v])
			}
		}
	}
	ADDQ(U32(4*t.mr), a)
	ADDQ(ldb, b)
	DECQ(kc)
	JNZ(LabelRef("loop"))
}

// splitLoop is loop for a tile of one zmm a row (t.split): two steps of k
// at a time, the odd one into a second set of accumulators, then a last
// step if kc is odd, and the two sets added into acc.
func splitLoop(t tile, rs *regs, acc [][]reg.VecPhysical, kc, a, b, ldb, pf reg.Register, pfRows int) {
	if len(t.widths) != 1 || t.widths[0] != 16 || t.sep {
		panic("split needs a tile of one zmm a row with folded broadcasts")
	}
	odd := make([]reg.VecPhysical, t.mr)
	for r := range odd {
		odd[r] = rs.get(16, false)
		VPXORD(odd[r], odd[r], odd[r])
	}
	row0, row1 := rs.get(16, false), rs.get(16, false)
	step := func(row reg.VecPhysical, into []reg.VecPhysical, aOff int) {
		for r := range t.mr {
			VFMADD231PS_BCST(Mem{Base: a, Disp: aOff + 4*r}, row, into[r])
		}
	}
	prefetch := func() {
		if pfRows > 0 {
			PREFETCHT0(Mem{Base: pf})
			PREFETCHT0(Mem{Base: pf, Disp: 60}) // a row not aligned to a line
			ADDQ(ldb, pf)
		}
	}
	CMPQ(kc, U8(2))
	JB(LabelRef("last"))
	Label("loop")
	prefetch()
	prefetch()
	VMOVUPS(Mem{Base: b}, row0)
	ADDQ(ldb, b)
	VMOVUPS(Mem{Base: b}, row1)
	ADDQ(ldb, b)
	step(row0, accCol(acc), 0)
	step(row1, odd, 4*t.mr)
	ADDQ(U32(8*t.mr), a)
	SUBQ(U8(2), kc)
	CMPQ(kc, U8(2))
	JAE(LabelRef("loop"))
	Label("last")
	TESTQ(kc, kc)
	JZ(LabelRef("sum"))
	VMOVUPS(Mem{Base: b}, row0)
	step(row0, accCol(acc), 0)
	Label("sum")
	for r := range t.mr {
		VADDPS(odd[r], acc[r][0], acc[r][0])
	}
}

// accCol is the first accumulator of each row.
func accCol(acc [][]reg.VecPhysical) []reg.VecPhysical {
	col := make([]reg.VecPhysical, len(acc))
	for r := range acc {
		col[r] = acc[r][0]
	}
	return col
}

// columnKernel generates the 8x1 kernel: a product of one column (a
// classifier at batch 1) on the 8x8 tail would do eight FMAs per useful
// one. Each step of k loads the panel's 8 values of A and multiplies them
// by the column's value broadcast, into four accumulators in turn so that
// no FMA waits for the previous one.
func columnKernel() {
	TEXT("column8AVX512", NOSPLIT, "func(kc int, a, b *float32, ldb int, c *float32)")
	Pragma("noescape")
	Doc(
		"column8AVX512 computes c[r] = sum over p < kc of a[p*8+r] * b[p*ldb] for",
		"r < 8 (fused multiply-adds, four partial sums); kc >= 1.",
	)
	kc := Load(Param("kc"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	var acc [4]reg.VecVirtual
	for i := range acc {
		acc[i] = YMM()
		VXORPS(acc[i], acc[i], acc[i])
	}
	Label("four")
	CMPQ(kc, U8(4))
	JL(LabelRef("rest"))
	for i := range acc {
		t := YMM()
		VMOVUPS(Mem{Base: a, Disp: 32 * i}, t)
		VFMADD231PS_BCST(Mem{Base: b}, t, acc[i])
		ADDQ(ldb, b)
	}
	ADDQ(U8(128), a)
	SUBQ(U8(4), kc)
	JMP(LabelRef("four"))
	Label("rest")
	TESTQ(kc, kc)
	JZ(LabelRef("sum"))
	t := YMM()
	VMOVUPS(Mem{Base: a}, t)
	VFMADD231PS_BCST(Mem{Base: b}, t, acc[0])
	ADDQ(ldb, b)
	ADDQ(U8(32), a)
	DECQ(kc)
	JMP(LabelRef("rest"))
	Label("sum")
	VADDPS(acc[1], acc[0], acc[0])
	VADDPS(acc[3], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	c := Load(Param("c"), GP64())
	VMOVUPS(acc[0], Mem{Base: c})
	VZEROUPPER()
	RET()
}

// epilogue generates the vector body of the fused epilogue for one row
// segment; the caller does the last n mod (2*width) elements in Go.
func epilogue(isa string, width int, vec func() reg.VecVirtual, zero func(reg.VecVirtual)) {
	name := "epilogue" + isa
	TEXT(name, NOSPLIT, "func(row *float32, n int, scale, shift float32, res *float32, relu bool)")
	Pragma("noescape")
	Doc(
		name+" applies the epilogue to row[:n], n a multiple of "+fmt.Sprint(2*width)+"; res may be nil. In Go:",
		"",
		"\tfor x := range n {",
		"\t\tv := row[x]*scale + shift // fused multiply-add",
		"\t\tif res != nil {",
		"\t\t\tv += res[x]",
		"\t\t}",
		"\t\tif relu && !(v > 0) {",
		"\t\t\tv = 0",
		"\t\t}",
		"\t\trow[x] = v",
		"\t}",
	)
	row := Load(Param("row"), GP64())
	n := Load(Param("n"), GP64())
	res := Load(Param("res"), GP64())
	relu := Load(Param("relu"), GP8())
	scale, shift, floor := vec(), vec(), vec()
	VBROADCASTSS(NewParamAddr("scale", 16), scale)
	VBROADCASTSS(NewParamAddr("shift", 20), shift)
	zero(floor)
	SHRQ(U8(bits.TrailingZeros(uint(2*width))), n) // n counts blocks of two vectors
	JZ(LabelRef("done"))
	// Four loops, one per (residual, ReLU) pair, keep the body branch-free.
	// VMAXPS returns its second source when either is NaN, so with the floor
	// there a NaN becomes 0, as in the reference.
	TESTQ(res, res)
	JZ(LabelRef("nores"))
	TESTB(relu, relu)
	JZ(LabelRef("res_only"))
	epilogueLoop("res_relu", width, vec, row, res, n, scale, shift, floor)
	epilogueLoop("res_only", width, vec, row, res, n, scale, shift, nil)
	Label("nores")
	TESTB(relu, relu)
	JZ(LabelRef("plain"))
	epilogueLoop("relu", width, vec, row, nil, n, scale, shift, floor)
	epilogueLoop("plain", width, vec, row, nil, n, scale, shift, nil)
	Label("done")
	VZEROUPPER()
	RET()
}

// epilogueLoop emits one loop over n blocks of two vectors, then jumps to done.
func epilogueLoop(label string, width int, vec func() reg.VecVirtual, row, res, n reg.Register, scale, shift, floor reg.VecVirtual) {
	Label(label)
	for _, off := range []int{0, 4 * width} {
		v := vec()
		VMOVUPS(Mem{Base: row, Disp: off}, v)
		VFMADD213PS(shift, scale, v)
		if res != nil {
			VADDPS(Mem{Base: res, Disp: off}, v, v)
		}
		if floor != nil {
			VMAXPS(floor, v, v)
		}
		VMOVUPS(v, Mem{Base: row, Disp: off})
	}
	ADDQ(U32(8*width), row)
	if res != nil {
		ADDQ(U32(8*width), res)
	}
	DECQ(n)
	JNZ(LabelRef(label))
	JMP(LabelRef("done"))
}

// cpuid generates a wrapper of the CPUID instruction, which tells the CPU's
// family and model apart (x/sys/cpu reports only feature flags).
func cpuid() {
	TEXT("cpuid", NOSPLIT, "func(leaf, sub uint32) (eax, ebx, ecx, edx uint32)")
	Doc("cpuid executes CPUID with EAX = leaf and ECX = sub.")
	Load(Param("leaf"), reg.EAX)
	Load(Param("sub"), reg.ECX)
	CPUID()
	Store(reg.EAX, Return("eax"))
	Store(reg.EBX, Return("ebx"))
	Store(reg.ECX, Return("ecx"))
	Store(reg.EDX, Return("edx"))
	RET()
}
