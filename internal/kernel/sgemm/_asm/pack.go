package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// pack8 generates the packing of an 8-row panel of A stored by rows: 16
// columns at a time it loads the 8 rows and transposes the 8x16 block in
// registers (two rounds of unpacks within 128-bit lanes, two of lane
// shuffles), so that every store is a whole vector; the scalar loop it
// replaces wrote one float at a time, 8 apart, and was most of the
// backward-filter products at 32x32.
func pack8() {
	TEXT("pack8AVX512", NOSPLIT, "func(dst, src *float32, lda, kc int, alpha float32)")
	Pragma("noescape")
	Doc(
		"pack8AVX512 writes alpha times the kc columns (a multiple of 16) of",
		"the 8 rows of src, lda apart, to dst column by column. In Go:",
		"",
		"\tfor r := range 8 {",
		"\t\tfor p := range kc {",
		"\t\t\tdst[p*8+r] = alpha * src[r*lda+p]",
		"\t\t}",
		"\t}",
	)
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	lda := Load(Param("lda"), GP64())
	SHLQ(U8(2), lda)
	kc := Load(Param("kc"), GP64())
	alpha := ZMM()
	a, err := Param("alpha").Resolve()
	if err != nil {
		panic(err)
	}
	VBROADCASTSS(a.Addr, alpha)
	lda3, src4 := GP64(), GP64()
	LEAQ(Mem{Base: lda, Index: lda, Scale: 2}, lda3)
	LEAQ(Mem{Base: src, Index: lda, Scale: 4}, src4)
	SHRQ(U8(4), kc)
	JZ(LabelRef("pack_done"))
	Label("pack_loop")
	// t[2j], t[2j+1]: rows 2j, 2j+1 interleaved, columns 4L, 4L+1 and
	// 4L+2, 4L+3 of each lane L.
	t := interleavePairs(scaledRows(8, src, src4, lda, lda3, alpha, ZMM), ZMM)
	// u[c] (rows 0-3) and v[c] (rows 4-7): lane L holds column 4L+c.
	var u, v [4]reg.VecVirtual
	for h, out := range [2]*[4]reg.VecVirtual{&u, &v} {
		a, b, c, d := t[4*h], t[4*h+2], t[4*h+1], t[4*h+3]
		for i := range out {
			out[i] = ZMM()
		}
		VUNPCKLPD(b, a, out[0])
		VUNPCKHPD(b, a, out[1])
		VUNPCKLPD(d, c, out[2])
		VUNPCKHPD(d, c, out[3])
	}
	// Columns c and c+1 of lane L, all 8 rows each, make output vector
	// 2L + c/2.
	for c := 0; c < 4; c += 2 {
		p, q, p1, q1 := ZMM(), ZMM(), ZMM(), ZMM()
		VSHUFF32X4(U8(0x44), v[c], u[c], p)
		VSHUFF32X4(U8(0xee), v[c], u[c], q)
		VSHUFF32X4(U8(0x44), v[c+1], u[c+1], p1)
		VSHUFF32X4(U8(0xee), v[c+1], u[c+1], q1)
		for lane := range 4 {
			o := ZMM()
			lo, hi := p, p1
			if lane >= 2 {
				lo, hi = q, q1
			}
			imm := U8(0x88)
			if lane%2 == 1 {
				imm = U8(0xdd)
			}
			VSHUFF32X4(imm, hi, lo, o)
			VMOVUPS(o, Mem{Base: dst, Disp: 64 * (2*lane + c/2)})
		}
	}
	ADDQ(U32(64), src)
	ADDQ(U32(64), src4)
	ADDQ(U32(512), dst)
	DECQ(kc)
	JNZ(LabelRef("pack_loop"))
	Label("pack_done")
	VZEROUPPER()
	RET()
}

// pack6 generates pack6AVX2, the AVX2 tier's packing of a 6-row panel of A:
// 8 columns a step, transposed through 64-bit pairs of rows. With a, b, c
// the pairs of rows (0,1), (2,3), (4,5), column j of the panel is the six
// floats a_j b_j c_j, so 8 columns are the 24 pairs a0 b0 c0 a1 ... c7,
// six ymm stores in order.
func pack6() {
	TEXT("pack6AVX2", NOSPLIT, "func(dst, src *float32, lda, blocks int, alpha float32)")
	Pragma("noescape")
	Doc(
		"pack6AVX2 writes alpha times the first 8*blocks columns (blocks >= 1)",
		"of the 6 rows of src, lda apart, to dst column by column. In Go:",
		"",
		"\tfor r := range 6 {",
		"\t\tfor p := range 8 * blocks {",
		"\t\t\tdst[p*6+r] = alpha * src[r*lda+p]",
		"\t\t}",
		"\t}",
	)
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	lda := Load(Param("lda"), GP64())
	SHLQ(U8(2), lda)
	blocks := Load(Param("blocks"), GP64())
	alpha := YMM()
	a, err := Param("alpha").Resolve()
	if err != nil {
		panic(err)
	}
	VBROADCASTSS(a.Addr, alpha)
	lda3, src3 := GP64(), GP64()
	LEAQ(Mem{Base: lda, Index: lda, Scale: 2}, lda3)
	LEAQ(Mem{Base: src, Index: lda3, Scale: 1}, src3)
	Label("pack6_loop")
	// t[2i] holds the pairs of rows 2i, 2i+1 at columns 0, 1 | 4, 5 and
	// t[2i+1] at columns 2, 3 | 6, 7.
	t := interleavePairs(scaledRows(6, src, src3, lda, lda3, alpha, YMM), YMM)
	// u holds the output's pairs in order within each 128-bit lane: low
	// lanes give columns 0-3, high lanes columns 4-7.
	var u [6]reg.VecVirtual
	for i := range u {
		u[i] = YMM()
	}
	VUNPCKLPD(t[2], t[0], u[0])           // a0 b0 | a4 b4
	VSHUFPD(U8(0b1010), t[0], t[4], u[1]) // c0 a1 | c4 a5
	VUNPCKHPD(t[4], t[2], u[2])           // b1 c1 | b5 c5
	VUNPCKLPD(t[3], t[1], u[3])           // a2 b2 | a6 b6
	VSHUFPD(U8(0b1010), t[1], t[5], u[4]) // c2 a3 | c6 a7
	VUNPCKHPD(t[5], t[3], u[5])           // b3 c3 | b7 c7
	for i := range 3 {
		lo, hi := YMM(), YMM()
		VPERM2F128(U8(0x20), u[2*i+1], u[2*i], lo)
		VPERM2F128(U8(0x31), u[2*i+1], u[2*i], hi)
		VMOVUPS(lo, Mem{Base: dst, Disp: 32 * i})
		VMOVUPS(hi, Mem{Base: dst, Disp: 96 + 32*i})
	}
	ADDQ(U32(32), src)
	ADDQ(U32(32), src3)
	ADDQ(U32(192), dst)
	DECQ(blocks)
	JNZ(LabelRef("pack6_loop"))
	VZEROUPPER()
	RET()
}

// scaledRows loads alpha times a vector from each of n (6 or 8) rows of a
// row-major panel, lda bytes apart: the first half from src on, the second
// from srcHi (src + n/2 rows), each row addressed from its half's base by
// lda, 2*lda or lda3 = 3*lda.
func scaledRows(n int, src, srcHi, lda, lda3 reg.Register, alpha reg.VecVirtual, vec func() reg.VecVirtual) []reg.VecVirtual {
	r := make([]reg.VecVirtual, n)
	for i := range r {
		r[i] = vec()
		base := src
		if i >= n/2 {
			base = srcHi
		}
		m := Mem{Base: base}
		switch i % (n / 2) {
		case 1:
			m = Mem{Base: base, Index: lda, Scale: 1}
		case 2:
			m = Mem{Base: base, Index: lda, Scale: 2}
		case 3:
			m = Mem{Base: base, Index: lda3, Scale: 1}
		}
		VMULPS(m, alpha, r[i])
	}
	return r
}

// interleavePairs returns, for each pair of rows 2j, 2j+1, their low and
// their high floats of each 128-bit lane interleaved (VUNPCKLPS and
// VUNPCKHPS): t[2j] and t[2j+1].
func interleavePairs(r []reg.VecVirtual, vec func() reg.VecVirtual) []reg.VecVirtual {
	t := make([]reg.VecVirtual, len(r))
	for j := 0; j < len(r); j += 2 {
		t[j], t[j+1] = vec(), vec()
		VUNPCKLPS(r[j+1], r[j], t[j])
		VUNPCKHPS(r[j+1], r[j], t[j+1])
	}
	return t
}
