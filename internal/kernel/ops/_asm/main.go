// Command _asm generates the assembly kernels of package ops with avo: the
// 2x2 max pool and the per-plane passes of training batch normalisation,
// for AVX-512 and AVX2.
//
// Run from this directory: go run . -out ../ops_amd64.s -stubs ../ops_amd64.go -pkg ops
package main

import (
	"math/bits"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	evens := GLOBL("evens", RODATA|NOPTR)
	for i := range 16 {
		DATA(4*i, U32(2*i))
	}
	odds := GLOBL("odds", RODATA|NOPTR)
	for i := range 16 {
		DATA(4*i, U32(2*i+1))
	}
	maxPool2(evens, odds)
	// Eight -1 then eight 0: the 8 lanes from (8-n)*4 bytes on select n.
	lanes := GLOBL("lanes", RODATA|NOPTR)
	for i := range 16 {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
	maxPool2AVX2(lanes)
	for _, i := range []isa{avx512, avx2} {
		sumF64(i)
		sqDevF64(i)
		bnApply(i)
		bnBackwardSums(i)
		bnBackwardApply(i)
	}
	Generate()
}

// maxPool2 generates the 2x2 stride-2 max pool of one plane: per output row,
// the maximum of the two input rows, then of each pair of neighbours (split
// into evens and odds by permutes), 16 outputs a vector and a masked tail.
// The scalar Go loop was 7 times slower than ONNX Runtime's pools.
func maxPool2(evens, odds Mem) {
	TEXT("maxPool2AVX512", NOSPLIT, "func(dst, src *float32, w, oh, ow int)")
	Pragma("noescape")
	Doc(
		"maxPool2AVX512 writes the oh >= 1 rows of ow >= 1 maxima of the 2x2",
		"windows of the w-wide plane src (w >= 2*ow) to dst; a window holding a",
		"NaN gives a NaN. It is, in Go:",
		"",
		"\tfor i := range oh {",
		"\t\tfor j := range ow {",
		"\t\t\ta, b := src[2*i*w+2*j], src[2*i*w+2*j+1]",
		"\t\t\tc, d := src[(2*i+1)*w+2*j], src[(2*i+1)*w+2*j+1]",
		"\t\t\tdst[i*ow+j] = nanMax(nanMax(a, c), nanMax(b, d))",
		"\t\t}",
		"\t}",
	)
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	w := Load(Param("w"), GP64())
	SHLQ(U8(2), w) // bytes
	oh := Load(Param("oh"), GP64())
	ow := Load(Param("ow"), GP64())
	ie, io := ZMM(), ZMM()
	VMOVUPS(evens, ie)
	VMOVUPS(odds, io)
	// Masks of the tail: rem = ow%16 outputs from 2*rem inputs.
	rem, m := GP64(), GP64()
	MOVQ(ow, rem)
	ANDQ(U32(15), rem)
	kin0, kin1, kout := K(), K(), K()
	lowMask(rem, m, kout)
	SHLQ(U8(1), rem)
	lowMask(rem, m, kin0)
	SHRQ(U8(16), m)
	KMOVW(m.As32(), kin1)
	poolRows(16, dst, src, w, oh, ow, func() { KORTESTW(kout, kout) }, func(r0, r1, d reg.Register, tail bool) {
		if tail {
			pool16(r0, r1, d, ie, io, kin0, kin1, kout)
		} else {
			pool16(r0, r1, d, ie, io, nil, nil, nil)
		}
	})
}

// poolRows emits the loop of a 2x2 max pool over the oh output rows: per
// row, its whole vectors of lanes outputs by pool(tail false), then, unless
// the flags of noTail's test say zero, the last ow%lanes by pool(tail
// true); pool computes from input rows r0 and r1 into output d.
func poolRows(lanes int, dst, src, w, oh, ow reg.Register, noTail func(), pool func(r0, r1, d reg.Register, tail bool)) {
	full := GP64()
	MOVQ(ow, full)
	SHRQ(U8(bits.TrailingZeros(uint(lanes))), full) // whole vectors per row

	Label("row")
	r0, r1, d, j := GP64(), GP64(), GP64(), GP64()
	MOVQ(src, r0)
	LEAQ(Mem{Base: src, Index: w, Scale: 1}, r1)
	MOVQ(dst, d)
	MOVQ(full, j)
	TESTQ(j, j)
	JZ(LabelRef("tail"))
	Label("vec")
	pool(r0, r1, d, false)
	ADDQ(U32(8*lanes), r0)
	ADDQ(U32(8*lanes), r1)
	ADDQ(U32(4*lanes), d)
	DECQ(j)
	JNZ(LabelRef("vec"))
	Label("tail")
	noTail()
	JZ(LabelRef("next"))
	pool(r0, r1, d, true)
	Label("next")
	// Next output row: two input rows on, one output row on.
	LEAQ(Mem{Base: src, Index: w, Scale: 2}, src)
	LEAQ(Mem{Base: dst, Index: ow, Scale: 4}, dst)
	DECQ(oh)
	JNZ(LabelRef("row"))
	VZEROUPPER()
	RET()
}

// pool16 computes 16 outputs from 32 inputs of rows r0 and r1 into d;
// with masks, only the lanes they select are loaded and stored.
func pool16(r0, r1, d reg.Register, ie, io reg.VecVirtual, kin0, kin1, kout reg.OpmaskVirtual) {
	load := func(base reg.Register, disp int, k reg.OpmaskVirtual) reg.VecVirtual {
		v := ZMM()
		if k == nil {
			VMOVUPS(Mem{Base: base, Disp: disp}, v)
		} else {
			VMOVUPS_Z(Mem{Base: base, Disp: disp}, k, v)
		}
		return v
	}
	a0, a1 := load(r0, 0, kin0), load(r0, 64, kin1)
	b0, b1 := load(r1, 0, kin0), load(r1, 64, kin1)
	v0, v1 := nanMax(a0, b0), nanMax(a1, b1)
	e, o := ZMM(), ZMM()
	VMOVAPS(v0, e)
	VMOVAPS(v0, o)
	VPERMT2PS(v1, ie, e)
	VPERMT2PS(v1, io, o)
	out := nanMax(e, o)
	if kout == nil {
		VMOVUPS(out, Mem{Base: d})
	} else {
		VMOVUPS(out, kout, Mem{Base: d})
	}
}

// nanMax returns the lane-wise maximum of x and y, NaN where either is:
// VMAXPS alone would return y when only x is NaN.
func nanMax(x, y reg.VecVirtual) reg.VecVirtual {
	m, k := ZMM(), K()
	VMAXPS(y, x, m)
	VCMPPS(U8(3), y, x, k) // unordered: either is NaN
	VADDPS(y, x, k, m)     // NaN + anything is NaN
	return m
}

// maxPool2AVX2 is maxPool2 for machines without AVX-512: 8 outputs a ymm,
// and the last ow%8 of each row through VMASKMOVPS, which neither reads nor
// writes the lanes its mask leaves out.
func maxPool2AVX2(lanes Mem) {
	TEXT("maxPool2AVX2", NOSPLIT, "func(dst, src *float32, w, oh, ow int)")
	Pragma("noescape")
	Doc("maxPool2AVX2 is maxPool2AVX512 on AVX2: same arguments, same result.")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	w := Load(Param("w"), GP64())
	SHLQ(U8(2), w) // bytes
	oh := Load(Param("oh"), GP64())
	ow := Load(Param("ow"), GP64())
	// Masks of the tail: rem = ow%8 outputs from 2*rem inputs, the first
	// min(2*rem, 8) in one vector and the rest in the next.
	table := GP64()
	LEAQ(lanes, table)
	mask := func(n reg.Register) reg.VecVirtual {
		off, k := GP64(), YMM()
		MOVQ(U32(8), off)
		SUBQ(n, off)
		VMOVDQU(Mem{Base: table, Index: off, Scale: 4}, k)
		return k
	}
	rem, n := GP64(), GP64()
	MOVQ(ow, rem)
	ANDQ(U32(7), rem)
	kout := mask(rem)
	LEAQ(Mem{Base: rem, Index: rem, Scale: 1}, n) // 2*rem < 16
	CMPQ(n, U8(8))
	JBE(LabelRef("in0"))
	MOVQ(U32(8), n)
	Label("in0")
	kin0 := mask(n)
	LEAQ(Mem{Base: rem, Index: rem, Scale: 1, Disp: -8}, n)
	TESTQ(n, n)
	JNS(LabelRef("in1"))
	XORQ(n, n)
	Label("in1")
	kin1 := mask(n)
	poolRows(8, dst, src, w, oh, ow, func() { TESTQ(rem, rem) }, func(r0, r1, d reg.Register, tail bool) {
		if tail {
			pool8(r0, r1, d, kin0, kin1, kout)
		} else {
			pool8(r0, r1, d, nil, nil, nil)
		}
	})
}

// pool8 computes 8 outputs from 16 inputs of rows r0 and r1 into d; with
// masks, only the lanes they select are loaded and stored.
func pool8(r0, r1, d reg.Register, kin0, kin1, kout reg.VecVirtual) {
	load := func(base reg.Register, disp int, k reg.VecVirtual) reg.VecVirtual {
		v := YMM()
		if k == nil {
			VMOVUPS(Mem{Base: base, Disp: disp}, v)
		} else {
			VMASKMOVPS(Mem{Base: base, Disp: disp}, k, v)
		}
		return v
	}
	a0, a1 := load(r0, 0, kin0), load(r0, 32, kin1)
	b0, b1 := load(r1, 0, kin0), load(r1, 32, kin1)
	v0, v1 := nanMaxY(a0, b0), nanMaxY(a1, b1)
	// Within each 128-bit lane, the even then the odd floats of v0 and v1;
	// their maximum, put back in order of the outputs.
	e, o := YMM(), YMM()
	VSHUFPS(U8(0x88), v1, v0, e)
	VSHUFPS(U8(0xdd), v1, v0, o)
	out := nanMaxY(e, o)
	VPERMPD(U8(0xd8), out, out)
	if kout == nil {
		VMOVUPS(out, Mem{Base: d})
	} else {
		VMASKMOVPS(out, kout, Mem{Base: d})
	}
}

// nanMaxY is nanMax on ymm: where either lane is NaN, the compare's
// all-ones is a NaN and OR-ed over the maximum.
func nanMaxY(x, y reg.VecVirtual) reg.VecVirtual {
	m, u := YMM(), YMM()
	VMAXPS(y, x, m)
	VCMPPS(U8(3), y, x, u) // unordered: either is NaN
	VORPS(u, m, m)
	return m
}

// lowMask sets k to the n (< 64) low lanes, m = 1<<n - 1 on the way.
func lowMask(n reg.Register, m reg.GPVirtual, k reg.OpmaskVirtual) {
	MOVQ(U32(1), m)
	SHLXQ(n, m, m)
	DECQ(m)
	KMOVW(m.As32(), k)
}
