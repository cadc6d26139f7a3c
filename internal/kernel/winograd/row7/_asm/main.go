// Command _asm generates the AVX-512 kernels of package row7 with avo: the
// F(2, 7) input transform of 16 tiles a vector (each tile's eight samples
// gathered from the row, two floats apart) and the products of three output
// rows of a tile, 24 accumulators, with the output transform A^T factored
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
	multiplyKernel()
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

func multiplyKernel() {
	c := map[float32]Mem{}
	for _, v := range []float32{2, 0.5} {
		c[v] = floatConst(v)
	}
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
		for _, pair := range [][2]int{{1, 2}, {3, 4}, {5, 6}} {
			a, b := v[pair[0]], v[pair[1]]
			tmp := ZMM()
			VMOVAPS(a, tmp)
			VADDPS(b, a, a)   // s
			VSUBPS(b, tmp, b) // d
		}
		VADDPS(v[1], v[0], v[0])
		VADDPS(v[3], v[0], v[0])
		VADDPS(v[5], v[0], v[0]) // y0
		VADDPS(v[7], v[2], v[2])
		VFMADD231PS_BCST(c[2], v[4], v[2])
		VFMADD231PS_BCST(c[0.5], v[6], v[2]) // y1
		for q, z := range []reg.VecVirtual{v[0], v[2]} {
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
