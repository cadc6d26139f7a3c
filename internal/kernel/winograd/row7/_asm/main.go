// Command _asm generates the AVX-512 and AVX2 kernels of package row7 with
// avo: the F(2, 7) input transform of 16 tiles a vector (each tile's eight
// samples gathered from the row, two floats apart; AVX2 takes the 16 tiles
// as two halves, deinterleaving the row with shuffles) and the products of
// three output rows of a tile, 24 accumulators (AVX2: of two tiles, point
// by point, see multiplyKernelAVX2), with the output transform A^T factored
// over the point pairs ±a:
//
//	s(a) = m(a) + m(-a), d(a) = m(a) - m(-a)
//	y0 = m(0) + s(1) + s(2) + s(1/2)
//	y1 = d(1) + 2 d(2) + d(1/2) / 2 + m(inf)
//
// Run from this directory: go run . -out ../row7_amd64.s -stubs ../row7_amd64.go -pkg row7
package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

const (
	m      = 2 // row7.M: outputs per tile
	points = 8 // row7.Points
	rows   = 3 // row7.Rows
)

func main() {
	ConstraintExpr("!purego")
	tileStarts := GLOBL("tileStarts", RODATA|NOPTR)
	for i := range 16 {
		DATA(4*i, U32(m*i))
	}
	inputKernel(tileStarts)
	// The output transform's coefficients other than 1, for both tiers.
	c := map[float32]Mem{2: floatConst(2), 0.5: floatConst(0.5)}
	multiplyKernel(c)
	inputKernelAVX2()
	multiplyKernelAVX2(c)
	Generate()
}

func inputKernel(tileStarts Mem) {
	TEXT("inputAVX512", NOSPLIT, "func(row *float32, t *float32, bt *float32, n int)")
	Pragma("noescape")
	Doc("inputAVX512 transforms n >= 1 blocks of tiles (see inputGeneric); bt is B^T.")
	row := Load(Param("row"), GP64())
	t := Load(Param("t"), GP64())
	bt := Load(Param("bt"), GP64())
	n := Load(Param("n"), GP64())
	idx := ZMM()
	VMOVDQU32(tileStarts, idx)
	k := K()
	Label("block")
	var d [points]reg.VecVirtual
	for j := range d {
		d[j] = ZMM()
		KXNORW(k, k, k) // the gather clears its mask
		VGATHERDPS(Mem{Base: row, Index: idx, Scale: 4, Disp: 4 * j}, k, d[j])
	}
	for p := range points {
		o := ZMM()
		VMULPS_BCST(Mem{Base: bt, Disp: 4 * p * points}, d[0], o)
		for j := 1; j < points; j++ {
			VFMADD231PS_BCST(Mem{Base: bt, Disp: 4 * (p*points + j)}, d[j], o)
		}
		VMOVUPS(o, Mem{Base: t, Disp: 64 * p})
	}
	ADDQ(U32(4*m*16), row)
	ADDQ(U32(4*16*points), t)
	DECQ(n)
	JNZ(LabelRef("block"))
	VZEROUPPER()
	RET()
}

// floatConst defines a 4-byte constant that the output transform
// broadcasts from memory.
func floatConst(v float32) Mem {
	m := GLOBL(fmt.Sprintf("c%08x", math.Float32bits(v)), RODATA|NOPTR)
	DATA(0, U32(math.Float32bits(v)))
	return m
}

// outputTransform applies A^T to a tile's eight points v, in place,
// factored over the point pairs; it returns the two outputs (v[0], v[2]).
// fmaConst adds f*x to acc, for the coefficients 2 and 0.5.
func outputTransform(v [points]reg.VecVirtual, newVec func() reg.VecVirtual, fmaConst func(f float32, x, acc reg.VecVirtual)) [m]reg.VecVirtual {
	for _, pair := range [][2]int{{1, 2}, {3, 4}, {5, 6}} {
		a, b := v[pair[0]], v[pair[1]]
		tmp := newVec()
		VMOVAPS(a, tmp)
		VADDPS(b, a, a)   // s
		VSUBPS(b, tmp, b) // d
	}
	VADDPS(v[1], v[0], v[0])
	VADDPS(v[3], v[0], v[0])
	VADDPS(v[5], v[0], v[0]) // y0
	VADDPS(v[7], v[2], v[2])
	fmaConst(2, v[4], v[2])
	fmaConst(0.5, v[6], v[2]) // y1
	return [m]reg.VecVirtual{v[0], v[2]}
}

func multiplyKernel(c map[float32]Mem) {
	TEXT("multiplyAVX512", NOSPLIT, "func(n int, t *float32, tChan int, c int, u *float32, y *float32, yRow int, shift *float32, floor float32)")
	Pragma("noescape")
	Doc(
		"multiplyAVX512 computes three output rows of n >= 1 tiles (see",
		"multiplyGeneric). Each of the 7*c steps loads a kernel row's ten",
		"transformed weight vectors once for the three rows' accumulators; the",
		"tiles' transformed inputs are broadcast from memory.",
	)
	n := Load(Param("n"), GP64())
	tile := Load(Param("t"), GP64())
	tChan := Load(Param("tChan"), GP64())
	SHLQ(U8(2), tChan)
	tRow := Load(Param("c"), GP64())
	IMULQ(tChan, tRow) // bytes from one input row to the next
	y := Load(Param("y"), GP64())
	yRow := Load(Param("yRow"), GP64())
	SHLQ(U8(2), yRow)
	tp, up, steps := GP64(), GP64(), GP64()

	Label("tile")
	MOVQ(tile, tp)
	Load(Param("u"), up)
	Load(Param("c"), steps)
	IMUL3Q(U32(7), steps, steps)
	var acc [rows][points]reg.VecVirtual
	for j := range acc {
		for p := range acc[j] {
			acc[j][p] = ZMM()
			VPXORD(acc[j][p], acc[j][p], acc[j][p])
		}
	}
	Label("step")
	for p := range points {
		w := ZMM()
		VMOVUPS(Mem{Base: up, Disp: 64 * p}, w)
		for j := range rows {
			x := Mem{Base: tp, Disp: 64 * p}
			if j > 0 {
				x.Index, x.Scale = tRow, uint8(j)
			}
			VFMADD231PS_BCST(x, w, acc[j][p])
		}
	}
	ADDQ(tChan, tp)
	ADDQ(U32(64*points), up)
	DECQ(steps)
	JNZ(LabelRef("step"))

	shift := Load(Param("shift"), GP64())
	yj := GP64()
	MOVQ(y, yj)
	for j := range rows {
		v := acc[j]
		Commentf("output row %d", j)
		y := outputTransform(v, ZMM, func(f float32, x, acc reg.VecVirtual) { VFMADD231PS_BCST(c[f], x, acc) })
		for q, z := range y {
			VADDPS(Mem{Base: shift}, z, z)
			VMAXPS_BCST(NewParamAddr("floor", 64), z, z)
			VMOVUPS(z, Mem{Base: yj, Disp: 64 * q})
		}
		if j < rows-1 {
			ADDQ(yRow, yj)
		}
	}
	ADDQ(U32(4), tile)
	ADDQ(U32(m*64), y)
	DECQ(n)
	JNZ(LabelRef("tile"))
	VZEROUPPER()
	RET()
}

func inputKernelAVX2() {
	TEXT("inputAVX2", NOSPLIT, "func(row *float32, t *float32, bt *float32, n int)")
	Pragma("noescape")
	Doc(
		"inputAVX2 transforms n >= 1 blocks of tiles (see inputGeneric), eight",
		"tiles a vector; bt is B^T. Sample 2a (2a+1) of eight tiles is the even",
		"(odd) floats of the 16 from 2a on, split with shuffles: gathers were",
		"slower than the transform's arithmetic.",
	)
	row := Load(Param("row"), GP64())
	t := Load(Param("t"), GP64())
	bt := Load(Param("bt"), GP64())
	n := Load(Param("n"), GP64())
	Label("block")
	for h := range 2 {
		var d [points]reg.VecVirtual
		for a := range points / 2 {
			lo, hi := YMM(), YMM()
			VMOVUPS(Mem{Base: row, Disp: 4 * (8*m*h + 2*a)}, lo)
			VMOVUPS(Mem{Base: row, Disp: 4 * (8*m*h + 2*a + 8)}, hi)
			d[2*a], d[2*a+1] = YMM(), YMM()
			VSHUFPS(U8(0x88), hi, lo, d[2*a])   // lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6
			VSHUFPS(U8(0xdd), hi, lo, d[2*a+1]) // the odd floats alike
			VPERMPD(U8(0xd8), d[2*a], d[2*a])   // 64-bit pairs 0 2 1 3: in order
			VPERMPD(U8(0xd8), d[2*a+1], d[2*a+1])
		}
		for p := range points {
			o, b := YMM(), YMM()
			VBROADCASTSS(Mem{Base: bt, Disp: 4 * p * points}, b)
			VMULPS(d[0], b, o)
			for j := 1; j < points; j++ {
				b := YMM()
				VBROADCASTSS(Mem{Base: bt, Disp: 4 * (p*points + j)}, b)
				VFMADD231PS(d[j], b, o)
			}
			VMOVUPS(o, Mem{Base: t, Disp: 64*p + 32*h})
		}
	}
	ADDQ(U32(4*m*16), row)
	ADDQ(U32(4*16*points), t)
	DECQ(n)
	JNZ(LabelRef("block"))
	VZEROUPPER()
	RET()
}

// multiplyKernelAVX2 computes Multiply with 16 ymm registers: too few for
// a tile's 8 points x 16 channels, so it takes the tiles two at a time and
// the points one at a time. For each point, the three rows of two tiles
// are a 6 x 16 block of accumulators (12 registers) over the 7*c steps, as
// in a GEMM micro-kernel: two weight vectors loaded, six inputs broadcast,
// twelve FMAs a step. The eight points' blocks go to a scratch on the stack,
// from which the output transform reads them. An odd last tile runs alone.
func multiplyKernelAVX2(c map[float32]Mem) {
	TEXT("multiplyAVX2", 0, "func(n int, t *float32, tChan int, c int, u *float32, y *float32, yRow int, shift *float32, floor float32)")
	Pragma("noescape")
	Doc(
		"multiplyAVX2 computes three output rows of n >= 1 tiles (see",
		"multiplyGeneric), two tiles at a time: for each point, a 6 x 16 block",
		"of accumulators (three rows of two tiles) over the 7*c steps, stored",
		"to a scratch that the output transform then reads.",
	)
	scratch := AllocLocal(points * rows * 2 * 64) // [point][row][tile][16]
	n := Load(Param("n"), GP64())
	tile := Load(Param("t"), GP64())
	tChan := Load(Param("tChan"), GP64())
	SHLQ(U8(2), tChan)
	tRow := Load(Param("c"), GP64())
	IMULQ(tChan, tRow) // bytes from one input row to the next
	y := Load(Param("y"), GP64())
	yRow := Load(Param("yRow"), GP64())
	SHLQ(U8(2), yRow)

	Label("pair")
	CMPQ(n, U8(2))
	JL(LabelRef("single"))
	multiplyTilesAVX2(2, scratch, tile, tChan, tRow, y, yRow, c)
	ADDQ(U32(2*4), tile)
	ADDQ(U32(2*m*64), y)
	SUBQ(U8(2), n)
	JNZ(LabelRef("pair"))
	JMP(LabelRef("done"))
	Label("single")
	multiplyTilesAVX2(1, scratch, tile, tChan, tRow, y, yRow, c)
	Label("done")
	VZEROUPPER()
	RET()
}

// multiplyTilesAVX2 computes three output rows of tiles (1 or 2) tiles from
// tile on into y.
func multiplyTilesAVX2(tiles int, scratch Mem, tile, tChan, tRow, y, yRow reg.Register, c map[float32]Mem) {
	at := func(p, j, q, h int) Mem { return scratch.Offset(((p*rows+j)*2+q)*64 + 32*h) }
	tp, up, steps := GP64(), GP64(), GP64()
	for p := range points {
		Commentf("point %d", p)
		MOVQ(tile, tp)
		Load(Param("u"), up)
		Load(Param("c"), steps)
		IMUL3Q(U32(7), steps, steps)
		var acc [rows][2][2]reg.VecVirtual
		for j := range rows {
			for q := range tiles {
				for h := range 2 {
					acc[j][q][h] = YMM()
					VXORPS(acc[j][q][h], acc[j][q][h], acc[j][q][h])
				}
			}
		}
		loop := fmt.Sprintf("step%d_%d", tiles, p)
		Label(loop)
		w := [2]reg.VecVirtual{YMM(), YMM()}
		for h := range w {
			VMOVUPS(Mem{Base: up, Disp: 64*p + 32*h}, w[h])
		}
		for j := range rows {
			for q := range tiles {
				x := Mem{Base: tp, Disp: 64*p + 4*q}
				if j > 0 {
					x.Index, x.Scale = tRow, uint8(j)
				}
				b := YMM()
				VBROADCASTSS(x, b)
				for h := range w {
					VFMADD231PS(w[h], b, acc[j][q][h])
				}
			}
		}
		ADDQ(tChan, tp)
		ADDQ(U32(64*points), up)
		DECQ(steps)
		JNZ(LabelRef(loop))
		for j := range rows {
			for q := range tiles {
				for h := range 2 {
					VMOVUPS(acc[j][q][h], at(p, j, q, h))
				}
			}
		}
	}

	Comment("output transform")
	shift := Load(Param("shift"), GP64())
	fl := YMM()
	VBROADCASTSS(NewParamAddr("floor", 64), fl)
	cr := map[float32]reg.VecVirtual{}
	for _, f := range []float32{2, 0.5} {
		cr[f] = YMM()
		VBROADCASTSS(c[f], cr[f])
	}
	yj := GP64()
	MOVQ(y, yj)
	for j := range rows {
		for q := range tiles {
			for h := range 2 {
				var v [points]reg.VecVirtual
				for p := range v {
					v[p] = YMM()
					VMOVUPS(at(p, j, q, h), v[p])
				}
				y := outputTransform(v, YMM, func(f float32, x, acc reg.VecVirtual) { VFMADD231PS(cr[f], x, acc) })
				for qo, z := range y {
					VADDPS(Mem{Base: shift, Disp: 32 * h}, z, z)
					VMAXPS(fl, z, z)
					VMOVUPS(z, Mem{Base: yj, Disp: 64*(m*q+qo) + 32*h})
				}
			}
		}
		if j < rows-1 {
			ADDQ(yRow, yj)
		}
	}
}
