// Command _asm generates the sgemm micro-kernels for amd64 with avo.
//
// Each kernel holds an MR x NR tile of C in vector registers: NR/W vectors per
// row (W = 16 floats for AVX-512, 8 for AVX2) times MR rows. One step of k
// loads the NR values of a row of B into registers, broadcasts each of the MR
// values of a column of A in turn and multiplies-adds it into that row's
// accumulators: MR*NR/W FMAs per MR + NR/W loads.
//
// Run from this directory: go run . -out ../micro_amd64.s -stubs ../micro_amd64.go -pkg sgemm
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// prefetchRows is how far ahead (in rows of B) the kernels prefetch.
const prefetchRows = 8

// tier is one instruction set and its register tile.
type tier struct {
	isa   string // suffix of the function name
	mr    int    // rows of the tile
	nv    int    // vectors per row
	width int    // floats per vector
	vec   func() reg.VecVirtual
	zero  func(r reg.VecVirtual)
}

func main() {
	ConstraintExpr("!purego")
	// 16 of the 32 zmm registers accumulate: on Zen 4 this beat 14x32, 12x32,
	// 8x48, 6x64 and 16x16 (see params in ../dispatch_amd64.go).
	kernel(tier{isa: "AVX512", mr: 8, nv: 2, width: 16, vec: ZMM,
		zero: func(r reg.VecVirtual) { VPXORD(r, r, r) }}) // VXORPS on zmm would need AVX512DQ
	// 16 ymm registers: 12 accumulators, 2 for the row of B, 1 broadcast.
	kernel(tier{isa: "AVX2", mr: 6, nv: 2, width: 8, vec: YMM,
		zero: func(r reg.VecVirtual) { VXORPS(r, r, r) }})
	epilogue("AVX512", 16, ZMM, func(r reg.VecVirtual) { VPXORD(r, r, r) })
	epilogue("AVX2", 8, YMM, func(r reg.VecVirtual) { VXORPS(r, r, r) })
	Generate()
}

func kernel(t tier) {
	nr := t.nv * t.width
	name := fmt.Sprintf("kernel%dx%d%s", t.mr, nr, t.isa)
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

	acc := make([][]reg.VecVirtual, t.mr)
	for r := range acc {
		acc[r] = make([]reg.VecVirtual, t.nv)
		for v := range acc[r] {
			acc[r][v] = t.vec()
			t.zero(acc[r][v])
		}
	}
	kc := Load(Param("kc"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	// B is usually read in place from a big matrix, so fetch the row
	// prefetchRows ahead into L1 (every line it touches) while this one is
	// used; measured up to 8% faster on convolution shapes. Prefetches past
	// the end of B are harmless.
	pf := GP64()
	IMUL3Q(U32(prefetchRows), ldb, pf)
	ADDQ(b, pf)

	Label("loop")
	for off := 0; off < 4*nr; off += 64 {
		PREFETCHT0(Mem{Base: pf, Disp: off})
	}
	PREFETCHT0(Mem{Base: pf, Disp: 4*nr - 4})
	ADDQ(ldb, pf)
	row := make([]reg.VecVirtual, t.nv)
	for v := range row {
		row[v] = t.vec()
		VMOVUPS(Mem{Base: b, Disp: 4 * v * t.width}, row[v])
	}
	for r := range t.mr {
		x := t.vec()
		VBROADCASTSS(Mem{Base: a, Disp: 4 * r}, x)
		for v := range row {
			VFMADD231PS(row[v], x, acc[r][v])
		}
	}
	ADDQ(U32(4*t.mr), a)
	ADDQ(ldb, b)
	DECQ(kc)
	JNZ(LabelRef("loop"))

	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	accumulate := Load(Param("accumulate"), GP8())
	TESTB(accumulate, accumulate)
	JZ(LabelRef("store"))
	p := GP64()
	MOVQ(c, p)
	for r := range t.mr {
		for v := range t.nv {
			VADDPS(Mem{Base: p, Disp: 4 * v * t.width}, acc[r][v], acc[r][v])
		}
		if r < t.mr-1 {
			ADDQ(ldc, p)
		}
	}

	Label("store")
	for r := range t.mr {
		for v := range t.nv {
			VMOVUPS(acc[r][v], Mem{Base: c, Disp: 4 * v * t.width})
		}
		if r < t.mr-1 {
			ADDQ(ldc, c)
		}
	}
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
	SHRQ(U8(bitsOf(2*width)), n)
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

func bitsOf(pow2 int) uint64 {
	b := uint64(0)
	for 1<<b < pow2 {
		b++
	}
	return b
}
