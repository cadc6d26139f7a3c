// Command _asm generates the AVX-512 and AVX2 kernels of package c16 with
// avo: the input and output transforms of Winograd F(4x4, 3x3) on tiles of
// 16-channel pixels (one zmm register a pixel; AVX2 transforms each half of
// the channels in turn) and the 36 products of a group of tiles by the
// packed filter. The transforms use the factored forms
// of ../c16.go (InputColumn, OutputColumn), each applied down the columns of
// a tile and then along its rows.
//
// Run from this directory: go run . -out ../c16_amd64.s -stubs ../c16_amd64.go -pkg c16
package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

const (
	group = 8          // c16.Group
	step  = group * 64 // bytes from one position of v to the next
)

func main() {
	ConstraintExpr("!purego")
	inputKernel()
	multiplyKernel()
	outputKernel()
	inputKernelAVX2()
	multiplyKernelAVX2()
	outputKernelAVX2()
	Generate()
}

// constant broadcasts f into a new register.
func constant(f float32) reg.VecVirtual {
	g, z := GP32(), ZMM()
	MOVL(U32(math.Float32bits(f)), g)
	VPBROADCASTD(g, z)
	return z
}

// rowAddr addresses row r (0..5) of a tile whose row 0 is at base and row 3
// at base3, rows pitch bytes apart, plus disp bytes.
func rowAddr(base, base3, pitch reg.Register, r, disp int) Mem {
	if r >= 3 {
		base, r = base3, r-3
	}
	m := Mem{Base: base, Disp: disp}
	if r > 0 {
		m.Index, m.Scale = pitch, uint8(r)
	}
	return m
}

func inputKernel() {
	TEXT("inputAVX512", NOSPLIT, "func(src *float32, pitch int, v *float32, n int)")
	Pragma("noescape")
	Doc("inputAVX512 transforms n >= 1 tiles (see inputGeneric).")
	src := Load(Param("src"), GP64())
	pitch := Load(Param("pitch"), GP64())
	SHLQ(U8(2), pitch)
	v := Load(Param("v"), GP64())
	n := Load(Param("n"), GP64())
	c2, c4, c5 := constant(2), constant(4), constant(5)
	src3 := GP64()
	Label("tile")
	LEAQ(Mem{Base: src, Index: pitch, Scale: 2}, src3)
	ADDQ(pitch, src3)
	d := func(r, x int) Mem { return rowAddr(src, src3, pitch, r, 64*x) }
	load := func(m Mem) reg.VecVirtual {
		z := ZMM()
		VMOVUPS(m, z)
		return z
	}
	// B^T down each column gives rows i of t = B^T d; two rows at a time
	// stay in registers (12) and are then transformed along themselves.
	var ta, tb [6]reg.VecVirtual
	Comment("rows 1 and 2 of B^T d")
	for x := range 6 {
		d1, d2, d3, d4 := load(d(1, x)), load(d(2, x)), load(d(3, x)), load(d(4, x))
		a, b := ZMM(), ZMM()
		VADDPS(d2, d1, a)
		VSUBPS(d2, d1, b)
		ta[x], tb[x] = ZMM(), ZMM()
		VADDPS(d4, d3, ta[x])
		VFNMADD231PS(c4, a, ta[x]) // (d3 + d4) - 4a
		VSUBPS(d3, d4, tb[x])
		VFMADD231PS(c4, b, tb[x]) // (d4 - d3) + 4b
	}
	inputRow(ta, 1, v, 0, ZMM, c2, c4, c5)
	inputRow(tb, 2, v, 0, ZMM, c2, c4, c5)
	Comment("rows 3 and 4")
	for x := range 6 {
		d1, d2, d3, d4 := load(d(1, x)), load(d(2, x)), load(d(3, x)), load(d(4, x))
		e := ZMM()
		VSUBPS(d1, d3, e)
		ta[x], tb[x] = ZMM(), ZMM()
		VSUBPS(d2, d4, ta[x])
		VMOVAPS(ta[x], tb[x])
		VFMADD231PS(c2, e, ta[x])  // c + 2e
		VFNMADD231PS(c2, e, tb[x]) // c - 2e
	}
	inputRow(ta, 3, v, 0, ZMM, c2, c4, c5)
	inputRow(tb, 4, v, 0, ZMM, c2, c4, c5)
	Comment("rows 0 and 5")
	for x := range 6 {
		ta[x], tb[x] = load(d(4, x)), load(d(5, x))
		VFMADD231PS(d(0, x), c4, ta[x])
		VFNMADD231PS(d(2, x), c5, ta[x]) // (d4 + 4d0) - 5d2
		VFMADD231PS(d(1, x), c4, tb[x])
		VFNMADD231PS(d(3, x), c5, tb[x]) // (d5 + 4d1) - 5d3
	}
	inputRow(ta, 0, v, 0, ZMM, c2, c4, c5)
	inputRow(tb, 5, v, 0, ZMM, c2, c4, c5)
	ADDQ(U32(4*64), src)
	ADDQ(U32(64), v)
	DECQ(n)
	JNZ(LabelRef("tile"))
	VZEROUPPER()
	RET()
}

// inputRow applies B^T along row i of B^T d and stores positions (i, 0..5),
// disp bytes into each (the half of the channels AVX2 does). newVec makes
// the temporaries (ZMM or YMM); the constants are registers or, on AVX2,
// vectors in memory.
func inputRow(s [6]reg.VecVirtual, i int, v reg.Register, disp int, newVec func() reg.VecVirtual, c2, c4, c5 Op) {
	at := func(j int) Mem { return Mem{Base: v, Disp: (i*6+j)*step + disp} }
	o := newVec()
	VMOVAPS(s[4], o)
	VFMADD231PS(c4, s[0], o)
	VFNMADD231PS(c5, s[2], o)
	VMOVUPS(o, at(0))
	a, b := newVec(), newVec()
	VADDPS(s[2], s[1], a)
	VSUBPS(s[2], s[1], b)
	o1, o2 := newVec(), newVec()
	VADDPS(s[4], s[3], o1)
	VFNMADD231PS(c4, a, o1)
	VMOVUPS(o1, at(1))
	VSUBPS(s[3], s[4], o2)
	VFMADD231PS(c4, b, o2)
	VMOVUPS(o2, at(2))
	c, e := newVec(), newVec()
	VSUBPS(s[2], s[4], c)
	VSUBPS(s[1], s[3], e)
	o4 := newVec()
	VMOVAPS(c, o4)
	VFMADD231PS(c2, e, c)
	VMOVUPS(c, at(3))
	VFNMADD231PS(c2, e, o4)
	VMOVUPS(o4, at(4))
	VFMADD231PS(c4, s[1], s[5])
	VFNMADD231PS(c5, s[3], s[5])
	VMOVUPS(s[5], at(5))
}

func multiplyKernel() {
	TEXT("multiplyAVX512", NOSPLIT, "func(v *float32, u *float32)")
	Pragma("noescape")
	Doc(
		"multiplyAVX512 multiplies the group's tiles by the filter (see",
		"multiplyGeneric). Per position the 16 filter vectors stay in registers and",
		"each FMA takes a tile's input channel broadcast from memory; the eight",
		"tiles' accumulators interleave so that no FMA waits for the previous one.",
	)
	v := Load(Param("v"), GP64())
	u := Load(Param("u"), GP64())
	pos := GP64()
	MOVQ(U32(36), pos)
	Label("pos")
	var w [16]reg.VecVirtual
	for c := range w {
		w[c] = ZMM()
		VMOVUPS(Mem{Base: u, Disp: 64 * c}, w[c])
	}
	var acc [group]reg.VecVirtual
	for t := range acc {
		acc[t] = ZMM()
		VMULPS_BCST(Mem{Base: v, Disp: 64 * t}, w[0], acc[t])
	}
	for c := 1; c < 16; c++ {
		for t := range acc {
			VFMADD231PS_BCST(Mem{Base: v, Disp: 64*t + 4*c}, w[c], acc[t])
		}
	}
	for t := range acc {
		VMOVUPS(acc[t], Mem{Base: v, Disp: 64 * t})
	}
	ADDQ(U32(step), v)
	ADDQ(U32(16*64), u)
	DECQ(pos)
	JNZ(LabelRef("pos"))
	VZEROUPPER()
	RET()
}

func outputKernel() {
	TEXT("outputAVX512", NOSPLIT, "func(v *float32, n int, dst *float32, pitch int, shift *float32, floor float32)")
	Pragma("noescape")
	Doc("outputAVX512 transforms n >= 1 tiles back (see outputGeneric); a NaN becomes floor.")
	v := Load(Param("v"), GP64())
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	pitch := Load(Param("pitch"), GP64())
	SHLQ(U8(2), pitch)
	shiftPtr := Load(Param("shift"), GP64())
	sh, fl := ZMM(), ZMM()
	VMOVUPS(Mem{Base: shiftPtr}, sh)
	VBROADCASTSS(NewParamAddr("floor", 40), fl)
	c2, c4, c8 := constant(2), constant(4), constant(8)
	dst3 := GP64()
	Label("tile")
	LEAQ(Mem{Base: dst, Index: pitch, Scale: 2}, dst3)
	ADDQ(pitch, dst3)
	outputTile(v, dst, dst3, pitch, 0, ZMM, sh, fl, c2, c4, c8)
	ADDQ(U32(64), v)
	ADDQ(U32(4*64), dst)
	DECQ(n)
	JNZ(LabelRef("tile"))
	VZEROUPPER()
	RET()
}

// outputTile transforms one tile of v back and stores it (see outputRow
// for disp, newVec and the operands). A^T down each column gives rows r of
// s = A^T M, two at a time.
func outputTile(v, dst, dst3, pitch reg.Register, disp int, newVec func() reg.VecVirtual, sh Op, fl reg.VecVirtual, c2, c4, c8 Op) {
	m := func(i, j int) Mem { return Mem{Base: v, Disp: (i*6+j)*step + disp} }
	var sa, sb [6]reg.VecVirtual
	Comment("rows 0 and 2 of A^T M")
	for j := range 6 {
		sp, dp := newVec(), newVec()
		VMOVUPS(m(1, j), sp)
		VADDPS(m(2, j), sp, sp)
		VMOVUPS(m(3, j), dp)
		VADDPS(m(4, j), dp, dp)
		sa[j] = newVec()
		VADDPS(m(0, j), sp, sa[j])
		VADDPS(dp, sa[j], sa[j]) // (m0 + sp) + dp
		VFMADD231PS(c4, dp, sp)  // sp + 4dp
		sb[j] = sp
	}
	outputRow(sa, 0, dst, dst3, pitch, disp, newVec, sh, fl, c2, c4, c8)
	outputRow(sb, 2, dst, dst3, pitch, disp, newVec, sh, fl, c2, c4, c8)
	Comment("rows 1 and 3")
	for j := range 6 {
		sm, dm := newVec(), newVec()
		VMOVUPS(m(1, j), sm)
		VSUBPS(m(2, j), sm, sm)
		VMOVUPS(m(3, j), dm)
		VSUBPS(m(4, j), dm, dm)
		sa[j] = newVec()
		VMOVAPS(sm, sa[j])
		VFMADD231PS(c2, dm, sa[j]) // sm + 2dm
		VFMADD231PS(c8, dm, sm)
		VADDPS(m(5, j), sm, sm) // (sm + 8dm) + m5
		sb[j] = sm
	}
	outputRow(sa, 1, dst, dst3, pitch, disp, newVec, sh, fl, c2, c4, c8)
	outputRow(sb, 3, dst, dst3, pitch, disp, newVec, sh, fl, c2, c4, c8)
}

// outputRow applies A^T along row r of A^T M, adds the shift, clamps at the
// floor and stores output row r of the tile, disp bytes into each pixel
// (the half of the channels AVX2 does). newVec makes the temporaries; the
// shift and the constants are registers or vectors in memory.
func outputRow(s [6]reg.VecVirtual, r int, dst, dst3, pitch reg.Register, disp int, newVec func() reg.VecVirtual, sh Op, fl reg.VecVirtual, c2, c4, c8 Op) {
	sp, sm, dp, dm := newVec(), newVec(), newVec(), newVec()
	VADDPS(s[2], s[1], sp)
	VSUBPS(s[2], s[1], sm)
	VADDPS(s[4], s[3], dp)
	VSUBPS(s[4], s[3], dm)
	y := [4]reg.VecVirtual{s[0], newVec(), sp, sm}
	VADDPS(sp, y[0], y[0])
	VADDPS(dp, y[0], y[0]) // (s0 + sp) + dp
	VMOVAPS(sm, y[1])
	VFMADD231PS(c2, dm, y[1]) // sm + 2dm
	VFMADD231PS(c4, dp, y[2]) // sp + 4dp
	VFMADD231PS(c8, dm, y[3])
	VADDPS(s[5], y[3], y[3]) // (sm + 8dm) + s5
	for x, z := range y {
		VADDPS(sh, z, z)
		VMAXPS(fl, z, z)
		VMOVUPS(z, rowAddr(dst, dst3, pitch, r, 64*x+disp))
	}
}

// vecConsts are the AVX2 kernels' constants, eight copies of each in
// memory: their FMAs take them as operands instead of keeping them in
// registers, of which AVX2 has 16.
var vecConsts = map[float32]Mem{}

func vecConst(f float32) Mem {
	if m, ok := vecConsts[f]; ok {
		return m
	}
	m := GLOBL(fmt.Sprintf("v%08x", math.Float32bits(f)), RODATA|NOPTR)
	for i := range 8 {
		DATA(4*i, U32(math.Float32bits(f)))
	}
	vecConsts[f] = m
	return m
}

func inputKernelAVX2() {
	TEXT("inputAVX2", NOSPLIT, "func(src *float32, pitch int, v *float32, n int)")
	Pragma("noescape")
	Doc("inputAVX2 transforms n >= 1 tiles (see inputGeneric), eight channels at a time.")
	src := Load(Param("src"), GP64())
	pitch := Load(Param("pitch"), GP64())
	SHLQ(U8(2), pitch)
	v := Load(Param("v"), GP64())
	n := Load(Param("n"), GP64())
	c2, c4, c5 := vecConst(2), vecConst(4), vecConst(5)
	src3 := GP64()
	Label("tile")
	LEAQ(Mem{Base: src, Index: pitch, Scale: 2}, src3)
	ADDQ(pitch, src3)
	for h := range 2 {
		Commentf("channels %d to %d", 8*h, 8*h+7)
		d := func(r, x int) Mem { return rowAddr(src, src3, pitch, r, 64*x+32*h) }
		load := func(m Mem) reg.VecVirtual {
			y := YMM()
			VMOVUPS(m, y)
			return y
		}
		// inputKernel's column passes, with the constants as memory
		// operands (AVX2 has 16 registers) and so every value of d that
		// an FMA multiplies loaded first.
		var ta, tb [6]reg.VecVirtual
		Comment("rows 1 and 2 of B^T d")
		for x := range 6 {
			d1 := load(d(1, x))
			a, b := YMM(), YMM()
			VADDPS(d(2, x), d1, a)
			VSUBPS(d(2, x), d1, b)
			ta[x] = load(d(3, x))
			VADDPS(d(4, x), ta[x], ta[x])
			VFNMADD231PS(c4, a, ta[x]) // (d3 + d4) - 4a
			tb[x] = load(d(4, x))
			VSUBPS(d(3, x), tb[x], tb[x])
			VFMADD231PS(c4, b, tb[x]) // (d4 - d3) + 4b
		}
		inputRow(ta, 1, v, 32*h, YMM, c2, c4, c5)
		inputRow(tb, 2, v, 32*h, YMM, c2, c4, c5)
		Comment("rows 3 and 4")
		for x := range 6 {
			e := load(d(3, x))
			VSUBPS(d(1, x), e, e)
			ta[x] = load(d(4, x))
			VSUBPS(d(2, x), ta[x], ta[x])
			tb[x] = YMM()
			VMOVAPS(ta[x], tb[x])
			VFMADD231PS(c2, e, ta[x])  // c + 2e
			VFNMADD231PS(c2, e, tb[x]) // c - 2e
		}
		inputRow(ta, 3, v, 32*h, YMM, c2, c4, c5)
		inputRow(tb, 4, v, 32*h, YMM, c2, c4, c5)
		Comment("rows 0 and 5")
		for x := range 6 {
			ta[x], tb[x] = load(d(4, x)), load(d(5, x))
			d0, d2 := load(d(0, x)), load(d(2, x))
			VFMADD231PS(c4, d0, ta[x])
			VFNMADD231PS(c5, d2, ta[x]) // (d4 + 4d0) - 5d2
			d1, d3 := load(d(1, x)), load(d(3, x))
			VFMADD231PS(c4, d1, tb[x])
			VFNMADD231PS(c5, d3, tb[x]) // (d5 + 4d1) - 5d3
		}
		inputRow(ta, 0, v, 32*h, YMM, c2, c4, c5)
		inputRow(tb, 5, v, 32*h, YMM, c2, c4, c5)
	}
	ADDQ(U32(4*64), src)
	ADDQ(U32(64), v)
	DECQ(n)
	JNZ(LabelRef("tile"))
	VZEROUPPER()
	RET()
}

func multiplyKernelAVX2() {
	TEXT("multiplyAVX2", NOSPLIT, "func(v *float32, u *float32)")
	Pragma("noescape")
	Doc(
		"multiplyAVX2 multiplies the group's tiles by the filter (see",
		"multiplyGeneric), four tiles at a time: per input channel, its two filter",
		"vectors are loaded once for the four tiles' eight accumulators.",
	)
	v := Load(Param("v"), GP64())
	u := Load(Param("u"), GP64())
	pos := GP64()
	MOVQ(U32(36), pos)
	Label("pos")
	for t0 := 0; t0 < group; t0 += 4 {
		var acc [4][2]reg.VecVirtual
		for c := range 16 {
			w := [2]reg.VecVirtual{YMM(), YMM()}
			for h := range w {
				VMOVUPS(Mem{Base: u, Disp: 64*c + 32*h}, w[h])
			}
			for t := range acc {
				b := YMM()
				VBROADCASTSS(Mem{Base: v, Disp: 64*(t0+t) + 4*c}, b)
				for h := range w {
					if c == 0 {
						acc[t][h] = YMM()
						VMULPS(w[h], b, acc[t][h])
					} else {
						VFMADD231PS(w[h], b, acc[t][h])
					}
				}
			}
		}
		for t := range acc {
			for h := range 2 {
				VMOVUPS(acc[t][h], Mem{Base: v, Disp: 64*(t0+t) + 32*h})
			}
		}
	}
	ADDQ(U32(step), v)
	ADDQ(U32(16*64), u)
	DECQ(pos)
	JNZ(LabelRef("pos"))
	VZEROUPPER()
	RET()
}

func outputKernelAVX2() {
	TEXT("outputAVX2", NOSPLIT, "func(v *float32, n int, dst *float32, pitch int, shift *float32, floor float32)")
	Pragma("noescape")
	Doc("outputAVX2 transforms n >= 1 tiles back (see outputGeneric), eight channels at a time; a NaN becomes floor.")
	v := Load(Param("v"), GP64())
	n := Load(Param("n"), GP64())
	dst := Load(Param("dst"), GP64())
	pitch := Load(Param("pitch"), GP64())
	SHLQ(U8(2), pitch)
	shift := Load(Param("shift"), GP64())
	fl := YMM()
	VBROADCASTSS(NewParamAddr("floor", 40), fl)
	c2, c4, c8 := vecConst(2), vecConst(4), vecConst(8)
	dst3 := GP64()
	Label("tile")
	LEAQ(Mem{Base: dst, Index: pitch, Scale: 2}, dst3)
	ADDQ(pitch, dst3)
	for h := range 2 {
		Commentf("channels %d to %d", 8*h, 8*h+7)
		outputTile(v, dst, dst3, pitch, 32*h, YMM, Mem{Base: shift, Disp: 32 * h}, fl, c2, c4, c8)
	}
	ADDQ(U32(64), v)
	ADDQ(U32(4*64), dst)
	DECQ(n)
	JNZ(LabelRef("tile"))
	VZEROUPPER()
	RET()
}
