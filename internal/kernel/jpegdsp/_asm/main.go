// Command _asm generates the AVX2 and AVX-512 kernels of package jpegdsp
// with avo: the islow IDCT, the fancy 2x2 and 2x1 upsampling and the
// YCbCr -> RGB conversion, each bit-exact with the package's Go code.
//
// Run from this directory: go run . -out ../jpegdsp_amd64.s -stubs ../jpegdsp_amd64.go -pkg jpegdsp
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The islow IDCT's constants (jidctint.c, 13 fractional bits) and the
// colour conversion's (jdcolor.c, FIX(x) in 16.16).
const (
	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

func fix16(x float64) int32 { return int32(x*(1<<16) + 0.5) }

// consts holds each 32-bit constant repeated over 64 bytes, so it serves as
// a ymm or zmm memory operand.
var (
	consts    Mem
	constOffs = map[int32]int{}
)

func constant(v int32) Mem {
	off, ok := constOffs[v]
	if !ok {
		panic(fmt.Sprintf("constant %d not in the table", v))
	}
	return consts.Offset(off)
}

func constTable(vals ...int32) {
	consts = GLOBL("consts", RODATA|NOPTR)
	for i, v := range vals {
		constOffs[v] = 64 * i
		for k := range 16 {
			DATA(64*i+4*k, U32(uint32(v)))
		}
	}
}

// words is a 16-bit constant over 64 bytes, for the upsamplers.
func words(name string, v uint16) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for k := range 32 {
		DATA(2*k, U16(v))
	}
	return m
}

func main() {
	ConstraintExpr("!purego")
	constTable(
		fix0_541196100, -fix1_847759065, fix0_765366865, fix1_175875602,
		fix0_298631336, fix2_053119869, fix3_072711026, fix1_501321110,
		-fix0_899976223, -fix2_562915447, -fix1_961570560, -fix0_390180644,
		1<<10, 1<<17, 16, 128, 1<<15,
		fix16(1.40200), fix16(1.77200), -fix16(0.71414), -fix16(0.34414),
	)
	// VPERMD order that gathers the two halves of each packed row (AVX2).
	rowOrder := GLOBL("roworder", RODATA|NOPTR)
	for i, v := range []uint32{0, 4, 1, 5, 2, 6, 3, 7} {
		DATA(4*i, U32(v))
	}
	// VPERMT2Q indices that swap 128-bit lanes within each 256-bit half of
	// a pair of zmm registers: the AVX-512 form of VPERM2I128 $0x20 / $0x31.
	lanesLo := GLOBL("laneslo", RODATA|NOPTR)
	for i, v := range []uint64{0, 1, 8, 9, 4, 5, 12, 13} {
		DATA(8*i, U64(v))
	}
	lanesHi := GLOBL("laneshi", RODATA|NOPTR)
	for i, v := range []uint64{2, 3, 10, 11, 6, 7, 14, 15} {
		DATA(8*i, U64(v))
	}
	idct(false, rowOrder, lanesLo, lanesHi)
	idct(true, rowOrder, lanesLo, lanesHi)

	w8, w7, w2, w1 := words("w8", 8), words("w7", 7), words("w2", 2), words("w1", 1)
	upsample(false, true, w8, w7)
	upsample(true, true, w8, w7)
	upsample(false, false, w1, w2)
	upsample(true, false, w1, w2)

	// PSHUFB masks that interleave three 16-byte planes into RGB (AVX2),
	// and the VPERMB index that does it in one step (AVX-512).
	shuf := GLOBL("rgbshuf", RODATA|NOPTR)
	for c := range 3 {
		for k := range 3 {
			for i := range 16 {
				g := 16*k + i
				v := uint8(0x80)
				if g%3 == c {
					v = uint8(g / 3)
				}
				DATA(16*(3*c+k)+i, U8(v))
			}
		}
	}
	perm := GLOBL("rgbperm", RODATA|NOPTR)
	for i := range 64 {
		v := uint8(0)
		if i < 48 {
			v = uint8(i%3*16 + i/3)
		}
		DATA(i, U8(v))
	}
	yccAVX2(shuf)
	yccAVX512(perm)

	// Byte shuffle that packs the first three bytes of each gathered dword
	// to the bottom of its 128-bit lane, and the dword order that joins the
	// two lanes' 12 bytes (AVX2); the byte permute that packs all sixteen
	// (AVX-512).
	pack3 := GLOBL("pack3", RODATA|NOPTR)
	for l := range 2 {
		for i := range 16 {
			v := uint8(0x80)
			if i < 12 {
				v = uint8(i/3*4 + i%3)
			}
			DATA(16*l+i, U8(v))
		}
	}
	join := GLOBL("join3", RODATA|NOPTR)
	for i, v := range []uint32{0, 1, 2, 4, 5, 6, 3, 7} {
		DATA(4*i, U32(v))
	}
	pack48 := GLOBL("pack48", RODATA|NOPTR)
	for i := range 64 {
		v := uint8(63)
		if i < 48 {
			v = uint8(i/3*4 + i%3)
		}
		DATA(i, U8(v))
	}
	transpose(false, pack3, join)
	transpose(true, pack48, pack48)
	Generate()
}

// vecs makes vector registers of one width.
type vecs bool // true: zmm

func (z vecs) New() reg.VecVirtual {
	if z {
		return ZMM()
	}
	return YMM()
}

func (z vecs) suffix() string {
	if z {
		return "AVX512"
	}
	return "AVX2"
}

// idct generates idct{AVX2,AVX512}(dst *uint8, stride int, blk *int16, q
// *uint16, n int): n >= 1 adjacent blocks. The AVX2 kernel transforms one
// block per ymm (a lane per column); the AVX-512 kernel two side by side
// per zmm (the first block in lanes 0-7) and a last odd block with the AVX2
// code. Every step is the Go code's int32 arithmetic, shortcuts included
// (as blends), so results match for every input.
func idct(zmm bool, rowOrder, lanesLo, lanesHi Mem) {
	z := vecs(zmm)
	TEXT("idct"+z.suffix(), NOSPLIT, "func(dst *uint8, stride int, blk *int16, q *uint16, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("idct%s transforms n >= 1 adjacent blocks like idctGeneric, block k", z.suffix()),
		"from blk[64k:] into dst[8k:], rows stride apart.")
	dst := Load(Param("dst"), GP64())
	stride := Load(Param("stride"), GP64())
	blk := Load(Param("blk"), GP64())
	q := Load(Param("q"), GP64())
	n := Load(Param("n"), GP64())
	stride3 := GP64()
	LEAQ(Mem{Base: stride, Index: stride, Scale: 2}, stride3)
	if zmm {
		lo, hi := ZMM(), ZMM()
		VMOVDQU64(lanesLo, lo)
		VMOVDQU64(lanesHi, hi)
		Label("pair")
		CMPQ(n, U8(2))
		JL(LabelRef("single"))
		idctBlocks(true, dst, stride, stride3, blk, q, rowOrder, lo, hi)
		ADDQ(U8(16), dst)
		ADDQ(U32(256), blk)
		SUBQ(U8(2), n)
		JMP(LabelRef("pair"))
		Label("single")
		TESTQ(n, n)
		JZ(LabelRef("done"))
		idctBlocks(false, dst, stride, stride3, blk, q, rowOrder, nil, nil)
		Label("done")
	} else {
		Label("block")
		idctBlocks(false, dst, stride, stride3, blk, q, rowOrder, nil, nil)
		ADDQ(U8(8), dst)
		ADDQ(U32(128), blk)
		DECQ(n)
		JNZ(LabelRef("block"))
	}
	VZEROUPPER()
	RET()
}

// lanesel blends: where the mask says "shortcut", take v.
type laneMask struct {
	z    bool
	vec  reg.VecVirtual    // ymm: all-ones lanes
	mask reg.OpmaskVirtual // zmm
}

func (m laneMask) blend(v, dst reg.VecVirtual) {
	if m.z {
		VMOVDQA32(v, m.mask, dst)
		return
	}
	VPBLENDVB(m.vec, v, dst, dst)
}

// zeroACMask returns the lanes in which rows 1..7 (16-bit coefficients when
// word is set, else 32-bit lanes) are all zero.
func zeroACMask(z vecs, rows []Op, word bool) laneMask {
	if z {
		k := K()
		if word {
			acc := YMM()
			VMOVDQA64(rows[0], acc)
			for _, r := range rows[1:] {
				VPORQ(r, acc, acc)
			}
			VPTESTNMW(acc, acc, k)
		} else {
			acc := ZMM()
			VMOVDQA64(rows[0], acc)
			for _, r := range rows[1:] {
				VPORD(r, acc, acc)
			}
			VPTESTNMD(acc, acc, k)
		}
		return laneMask{z: true, mask: k}
	}
	if word {
		acc := XMM()
		VMOVDQU(rows[0], acc)
		for _, r := range rows[1:] {
			VPOR(r, acc, acc)
		}
		zero := XMM()
		VPXOR(zero, zero, zero)
		VPCMPEQW(zero, acc, acc)
		m := YMM()
		VPMOVSXWD(acc, m)
		return laneMask{vec: m}
	}
	m := YMM()
	VMOVDQA(rows[0], m)
	for _, r := range rows[1:] {
		VPOR(r, m, m)
	}
	zero := YMM()
	VPXOR(zero, zero, zero)
	VPCMPEQD(zero, m, m)
	return laneMask{vec: m}
}

// idct1D emits the 8-point transform of x (x is consumed) and returns the
// eight outputs after adding round and shifting right by shift, with the
// shortcut value sc blended in where mask is set.
func idct1D(z vecs, x [8]reg.VecVirtual, round Mem, shift int, mask laneMask, sc reg.VecVirtual) [8]reg.VecVirtual {
	mul := func(v reg.VecVirtual, c int32) { VPMULLD(constant(c), v, v) }
	// Even part.
	z1 := z.New()
	VPADDD(x[6], x[2], z1)
	mul(z1, fix0_541196100)
	mul(x[6], -fix1_847759065)
	VPADDD(z1, x[6], x[6]) // t2
	mul(x[2], fix0_765366865)
	VPADDD(z1, x[2], x[2]) // t3
	t0, t1 := z.New(), z.New()
	VPADDD(x[4], x[0], t0)
	VPSUBD(x[4], x[0], t1)
	VPSLLD(U8(13), t0, t0)
	VPSLLD(U8(13), t1, t1)
	t10, t13, t11, t12 := z.New(), z.New(), z.New(), z.New()
	VPADDD(x[2], t0, t10)
	VPSUBD(x[2], t0, t13)
	VPADDD(x[6], t1, t11)
	VPSUBD(x[6], t1, t12)
	// Odd part: a0..a3 are x7, x5, x3, x1.
	a0, a1, a2, a3 := x[7], x[5], x[3], x[1]
	zz1, zz2, zz3, zz4, zz5 := z.New(), z.New(), z.New(), z.New(), z.New()
	VPADDD(a3, a0, zz1)
	VPADDD(a2, a1, zz2)
	VPADDD(a2, a0, zz3)
	VPADDD(a3, a1, zz4)
	VPADDD(zz4, zz3, zz5)
	mul(zz5, fix1_175875602)
	mul(a0, fix0_298631336)
	mul(a1, fix2_053119869)
	mul(a2, fix3_072711026)
	mul(a3, fix1_501321110)
	mul(zz1, -fix0_899976223)
	mul(zz2, -fix2_562915447)
	mul(zz3, -fix1_961570560)
	VPADDD(zz5, zz3, zz3)
	mul(zz4, -fix0_390180644)
	VPADDD(zz5, zz4, zz4)
	VPADDD(zz1, a0, a0)
	VPADDD(zz3, a0, a0)
	VPADDD(zz2, a1, a1)
	VPADDD(zz4, a1, a1)
	VPADDD(zz2, a2, a2)
	VPADDD(zz3, a2, a2)
	VPADDD(zz1, a3, a3)
	VPADDD(zz4, a3, a3)
	var o [8]reg.VecVirtual
	pair := func(i, j int, t, a reg.VecVirtual) {
		o[i], o[j] = z.New(), z.New()
		VPADDD(a, t, o[i])
		VPSUBD(a, t, o[j])
	}
	pair(0, 7, t10, a3)
	pair(1, 6, t11, a2)
	pair(2, 5, t12, a1)
	pair(3, 4, t13, a0)
	for i := range o {
		VPADDD(round, o[i], o[i])
		VPSRAD(U8(shift), o[i], o[i])
		mask.blend(sc, o[i])
	}
	return o
}

// transpose8 transposes eight rows of eight 32-bit lanes (in each 256-bit
// half, for zmm).
func transpose8(z vecs, r [8]reg.VecVirtual, lo, hi reg.VecVirtual) [8]reg.VecVirtual {
	var t, u, c [8]reg.VecVirtual
	for i := 0; i < 8; i += 2 {
		t[i], t[i+1] = z.New(), z.New()
		VPUNPCKLDQ(r[i+1], r[i], t[i])
		VPUNPCKHDQ(r[i+1], r[i], t[i+1])
	}
	for _, b := range []int{0, 4} {
		for k := range 2 {
			// Rows b..b+3: columns k and k+2 (and +4) after the 64-bit unpacks.
			u[b+2*k], u[b+2*k+1] = z.New(), z.New()
			VPUNPCKLQDQ(t[b+2+k], t[b+k], u[b+2*k])
			VPUNPCKHQDQ(t[b+2+k], t[b+k], u[b+2*k+1])
		}
	}
	// u[b+m] holds column order m' = 0, 1, 2, 3 for rows b..b+3 in the
	// low lane (columns +4 in the high lane), with m: 0 -> col 0, 1 -> col 1,
	// 2 -> col 2, 3 -> col 3.
	for m := range 4 {
		c[m], c[m+4] = z.New(), z.New()
		if z {
			VMOVDQA64(u[m], c[m])
			VMOVDQA64(u[m], c[m+4])
			VPERMT2Q(u[4+m], lo, c[m])
			VPERMT2Q(u[4+m], hi, c[m+4])
		} else {
			VPERM2I128(U8(0x20), u[4+m], u[m], c[m])
			VPERM2I128(U8(0x31), u[4+m], u[m], c[m+4])
		}
	}
	return c
}

func idctBlocks(zmm bool, dst, stride, stride3, blk, q reg.Register, rowOrder Mem, lo, hi reg.VecVirtual) {
	z := vecs(zmm)
	// Pass 1, columns: lanes are columns, the eight vectors rows.
	var raw []Op
	if zmm {
		for r := 1; r < 8; r++ {
			v := YMM()
			VMOVDQU64(Mem{Base: blk, Disp: 16 * r}, v.AsX())
			VINSERTI32X4(U8(1), Mem{Base: blk, Disp: 128 + 16*r}, v, v)
			raw = append(raw, v)
		}
	} else {
		for r := 1; r < 8; r++ {
			raw = append(raw, Mem{Base: blk, Disp: 16 * r})
		}
	}
	mask := zeroACMask(z, raw, true)
	var x [8]reg.VecVirtual
	for r := range 8 {
		x[r] = z.New()
		qv := z.New()
		if zmm {
			var c reg.VecVirtual
			if r > 0 {
				c = raw[r-1].(reg.VecVirtual)
			} else {
				c = YMM()
				VMOVDQU64(Mem{Base: blk}, c.AsX())
				VINSERTI32X4(U8(1), Mem{Base: blk, Disp: 128}, c, c)
			}
			VPMOVSXWD(c, x[r])
			qy := YMM()
			VBROADCASTI32X4(Mem{Base: q, Disp: 16 * r}, qy)
			VPMOVZXWD(qy, qv)
		} else {
			VPMOVSXWD(Mem{Base: blk, Disp: 16 * r}, x[r])
			VPMOVZXWD(Mem{Base: q, Disp: 16 * r}, qv)
		}
		VPMULLD(qv, x[r], x[r])
	}
	sc := z.New()
	VPSLLD(U8(2), x[0], sc)
	ws := idct1D(z, x, constant(1<<10), 11, mask, sc)
	// Pass 2, rows: after the transpose lanes are rows, vectors columns.
	w := transpose8(z, ws, lo, hi)
	var wops []Op
	for _, v := range w[1:] {
		wops = append(wops, v)
	}
	mask2 := zeroACMask(z, wops, false)
	sc2 := z.New()
	VPADDD(constant(16), w[0], sc2)
	VPSRAD(U8(5), sc2, sc2)
	out := idct1D(z, w, constant(1<<17), 18, mask2, sc2)
	rows := transpose8(z, out, lo, hi)
	// Level shift, clamp to 0..255, store eight bytes a row (sixteen: both
	// blocks, for zmm).
	p := GP64()
	MOVQ(dst, p)
	at := func(r int) Mem {
		base := p
		switch r % 4 {
		case 0:
			return Mem{Base: base}
		case 1:
			return Mem{Base: base, Index: stride, Scale: 1}
		case 2:
			return Mem{Base: base, Index: stride, Scale: 2}
		}
		return Mem{Base: base, Index: stride3, Scale: 1}
	}
	for r := range rows {
		VPADDD(constant(128), rows[r], rows[r])
	}
	if zmm {
		zero := ZMM()
		VPXORD(zero, zero, zero)
		for r := range rows {
			if r == 4 {
				LEAQ(Mem{Base: p, Index: stride, Scale: 4}, p)
			}
			VPMAXSD(zero, rows[r], rows[r])
			b := XMM()
			VPMOVUSDB(rows[r], b)
			VMOVDQU64(b, at(r))
		}
		return
	}
	perm := YMM()
	VMOVDQU(rowOrder, perm)
	for half := range 2 {
		if half == 1 {
			LEAQ(Mem{Base: p, Index: stride, Scale: 4}, p)
		}
		r := rows[4*half:]
		VPACKSSDW(r[1], r[0], r[0])
		VPACKSSDW(r[3], r[2], r[2])
		VPACKUSWB(r[2], r[0], r[0])
		VPERMD(r[0], perm, r[0])
		VMOVQ(r[0].AsX(), at(0))
		VPEXTRQ(U8(1), r[0].AsX(), at(1))
		h := XMM()
		VEXTRACTI128(U8(1), r[0], h)
		VMOVQ(h, at(2))
		VPEXTRQ(U8(1), h, at(3))
	}
}

// upsample generates h2v2{AVX2,AVX512}(dst, near, far *uint8, n int) or
// h2v1{...}(dst, src *uint8, n int): output samples 2j and 2j+1 for
// j = 1..n (n a multiple of 16 or 32), from input samples j-1..j+1, in
// 16-bit lanes. even and odd are the rounding biases of the two outputs.
func upsample(zmm, v2 bool, even, odd Mem) {
	z := vecs(zmm)
	name, sig := "h2v1", "func(dst, src *uint8, n int)"
	if v2 {
		name, sig = "h2v2", "func(dst, near, far *uint8, n int)"
	}
	TEXT(name+z.suffix(), NOSPLIT, sig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s%s writes output samples 2j and 2j+1 for j = 1..n like %sRange.", name, z.suffix(), name))
	dst := Load(Param("dst"), GP64())
	var a, b reg.Register
	if v2 {
		a, b = Load(Param("near"), GP64()), Load(Param("far"), GP64())
	} else {
		a = Load(Param("src"), GP64())
	}
	n := Load(Param("n"), GP64())
	step := 16
	ev, od := z.New(), z.New()
	if zmm {
		step = 32
		VMOVDQU16(even, ev)
		VMOVDQU16(odd, od)
	} else {
		VMOVDQU(even, ev)
		VMOVDQU(odd, od)
	}
	Label(name + z.suffix() + "loop")
	load := func(base reg.Register, off int) reg.VecVirtual {
		v := z.New()
		m := Mem{Base: base, Disp: off}
		VPMOVZXBW(m, v)
		return v
	}
	// colsum returns 3*near + far (h2v2) or the sample (h2v1) at offset off.
	colsum := func(off int) reg.VecVirtual {
		v := load(a, off)
		if !v2 {
			return v
		}
		t := z.New()
		VPADDW(v, v, t)
		VPADDW(v, t, t)
		f := load(b, off)
		VPADDW(f, t, t)
		return t
	}
	cm, c0, cp := colsum(0), colsum(1), colsum(2)
	c3 := z.New()
	VPADDW(c0, c0, c3)
	VPADDW(c0, c3, c3)
	shift := 2
	if v2 {
		shift = 4
	}
	VPADDW(c3, cm, cm)
	VPADDW(ev, cm, cm)
	VPSRLW(U8(shift), cm, cm)
	VPADDW(c3, cp, cp)
	VPADDW(od, cp, cp)
	VPSRLW(U8(shift), cp, cp)
	VPSLLW(U8(8), cp, cp)
	if zmm {
		VPORQ(cp, cm, cm)
		VMOVDQU64(cm, Mem{Base: dst, Disp: 2})
	} else {
		VPOR(cp, cm, cm)
		VMOVDQU(cm, Mem{Base: dst, Disp: 2})
	}
	ADDQ(U8(step), a)
	if v2 {
		ADDQ(U8(step), b)
	}
	ADDQ(U8(2*step), dst)
	SUBQ(U8(step), n)
	JNZ(LabelRef(name + z.suffix() + "loop"))
	VZEROUPPER()
	RET()
}

// ycc emits the conversion of lanes pixels whose samples are in y, cb and
// cr (32-bit lanes, cb and cr consumed) into clamped r, g, b lanes.
func ycc(z vecs, y, cb, cr reg.VecVirtual) (r, g, b reg.VecVirtual) {
	VPSUBD(constant(128), cb, cb)
	VPSUBD(constant(128), cr, cr)
	r, g, b = z.New(), z.New(), z.New()
	VPMULLD(constant(fix16(1.40200)), cr, r)
	VPMULLD(constant(fix16(1.77200)), cb, b)
	VPMULLD(constant(-fix16(0.34414)), cb, g)
	VPMULLD(constant(-fix16(0.71414)), cr, cr)
	VPADDD(cr, g, g)
	for _, v := range []reg.VecVirtual{r, g, b} {
		VPADDD(constant(1<<15), v, v)
		VPSRAD(U8(16), v, v)
		VPADDD(y, v, v)
	}
	return r, g, b
}

// yccKernel generates name(dst, y, cb, cr *uint8, n int), which converts n
// pixels (a multiple of 16) 16 a step: setup runs once, step on each group.
func yccKernel(name string, setup func(), step func(dst, y, cb, cr reg.Register)) {
	TEXT(name, NOSPLIT, "func(dst, y, cb, cr *uint8, n int)")
	Pragma("noescape")
	Doc(name + " converts n pixels (a multiple of 16) like yccGeneric.")
	dst := Load(Param("dst"), GP64())
	yp := Load(Param("y"), GP64())
	cbp := Load(Param("cb"), GP64())
	crp := Load(Param("cr"), GP64())
	n := Load(Param("n"), GP64())
	setup()
	Label(name + "loop")
	step(dst, yp, cbp, crp)
	ADDQ(U8(16), yp)
	ADDQ(U8(16), cbp)
	ADDQ(U8(16), crp)
	ADDQ(U8(48), dst)
	SUBQ(U8(16), n)
	JNZ(LabelRef(name + "loop"))
	VZEROUPPER()
	RET()
}

// yccAVX2 generates yccAVX2: two halves of 8 lanes, packed with saturation
// (the clamp), then interleaved into RGB with byte shuffles.
func yccAVX2(shuf Mem) {
	yccKernel("yccAVX2", func() {}, func(dst, yp, cbp, crp reg.Register) {
		var planes [3][2]reg.VecVirtual
		for h := range 2 {
			y, cb, cr := YMM(), YMM(), YMM()
			VPMOVZXBD(Mem{Base: yp, Disp: 8 * h}, y)
			VPMOVZXBD(Mem{Base: cbp, Disp: 8 * h}, cb)
			VPMOVZXBD(Mem{Base: crp, Disp: 8 * h}, cr)
			r, g, b := ycc(vecs(false), y, cb, cr)
			planes[0][h], planes[1][h], planes[2][h] = r, g, b
		}
		var bytes [3]reg.VecVirtual
		for c := range 3 {
			lo, hi := planes[c][0], planes[c][1]
			VPACKSSDW(hi, lo, lo)    // words 0-3, 8-11 | 4-7, 12-15
			VPERMQ(U8(0xd8), lo, lo) // words 0-15 in order
			x := XMM()
			VEXTRACTI128(U8(1), lo, x)
			VPACKUSWB(x, lo.AsX(), x) // bytes 0-15, clamped
			bytes[c] = x
		}
		for k := range 3 {
			acc := XMM()
			VPSHUFB(shuf.Offset(16*k), bytes[0], acc)
			for c := 1; c < 3; c++ {
				t := XMM()
				VPSHUFB(shuf.Offset(16*(3*c+k)), bytes[c], t)
				VPOR(t, acc, acc)
			}
			VMOVDQU(acc, Mem{Base: dst, Disp: 16 * k})
		}
	})
}

// yccAVX512 generates yccAVX512: 32-bit lanes clamped by saturating
// narrows, interleaved by one byte permute and stored as 48 bytes under a
// mask.
func yccAVX512(perm Mem) {
	idx, zero, k := ZMM(), ZMM(), K()
	yccKernel("yccAVX512", func() {
		VMOVDQU64(perm, idx)
		VPXORD(zero, zero, zero)
		m := GP64()
		MOVQ(U64(1<<48-1), m)
		KMOVQ(m, k)
	}, func(dst, yp, cbp, crp reg.Register) {
		y, cb, cr := ZMM(), ZMM(), ZMM()
		VPMOVZXBD(Mem{Base: yp}, y)
		VPMOVZXBD(Mem{Base: cbp}, cb)
		VPMOVZXBD(Mem{Base: crp}, cr)
		r, g, b := ycc(vecs(true), y, cb, cr)
		var x [3]reg.VecVirtual
		for c, v := range []reg.VecVirtual{r, g, b} {
			VPMAXSD(zero, v, v)
			x[c] = XMM()
			VPMOVUSDB(v, x[c])
		}
		all := ZMM()
		VINSERTI32X4(U8(1), x[1], x[0].AsZ(), all)
		VINSERTI32X4(U8(2), x[2], all, all)
		VPERMB(all, idx, all)
		VMOVDQU8(all, k, Mem{Base: dst})
	})
}

// transpose generates transpose{AVX2,AVX512}(dst *uint8, step int, src
// *uint8, idx *int32, w int): for each of w columns sx, the 8 (16) pixels at
// src+3*sx+idx[i] are gathered as dwords and their first three bytes stored
// side by side at dst+sx*step. It turns stored columns of a strip of RGB
// rows into display rows of a rotated image.
func transpose(zmm bool, pack, join Mem) {
	z := vecs(zmm)
	TEXT("transpose"+z.suffix(), NOSPLIT, "func(dst *uint8, step int, src *uint8, idx *int32, w int)")
	Pragma("noescape")
	lanes := 8
	if zmm {
		lanes = 16
	}
	Doc(fmt.Sprintf("transpose%s copies %d pixels a column, for w >= 1 columns, like transposeWith's Go loop.", z.suffix(), lanes))
	dst := Load(Param("dst"), GP64())
	step := Load(Param("step"), GP64())
	src := Load(Param("src"), GP64())
	idxp := Load(Param("idx"), GP64())
	w := Load(Param("w"), GP64())
	idx, pk := z.New(), z.New()
	var jn reg.VecVirtual
	if zmm {
		VMOVDQU32(Mem{Base: idxp}, idx)
		VMOVDQU64(pack, pk)
	} else {
		jn = YMM()
		VMOVDQU(Mem{Base: idxp}, idx)
		VMOVDQU(pack, pk)
		VMOVDQU(join, jn)
	}
	var store reg.OpmaskVirtual
	if zmm {
		store = K()
		m := GP64()
		MOVQ(U64(1<<48-1), m)
		KMOVQ(m, store)
	}
	Label("transpose" + z.suffix() + "loop")
	v := z.New()
	if zmm {
		k := K()
		KXNORW(k, k, k) // the gather clears its mask
		VPXORD(v, v, v)
		VPGATHERDD(Mem{Base: src, Index: idx, Scale: 1}, k, v)
		VPERMB(v, pk, v)
		VMOVDQU8(v, store, Mem{Base: dst})
	} else {
		mask := YMM()
		VPCMPEQD(mask, mask, mask)
		VPXOR(v, v, v)
		VPGATHERDD(mask, Mem{Base: src, Index: idx, Scale: 1}, v)
		VPSHUFB(pk, v, v)
		VPERMD(v, jn, v)
		VMOVDQU(v.AsX(), Mem{Base: dst})
		hi := XMM()
		VEXTRACTI128(U8(1), v, hi)
		VMOVQ(hi, Mem{Base: dst, Disp: 16})
	}
	ADDQ(U8(3), src)
	ADDQ(step, dst)
	DECQ(w)
	JNZ(LabelRef("transpose" + z.suffix() + "loop"))
	VZEROUPPER()
	RET()
}
