// Command _asm generates the Winograd F(4x4, 3x3) transform kernels for amd64
// with avo. Both apply a fixed small matrix to rows of floats, eight columns
// at a time in ymm registers (Zen 4 runs 512-bit FMAs as two 256-bit halves,
// so AVX2 loses nothing there):
//
//	inputRowsAVX2:  out[i][x] = sum_j BT[i][j] * in[j][x]   (6 rows -> 6)
//	outputRowsAVX2: out[r][x] = sum_j AT[r][j] * in[j][x]   (6 rows -> 4)
//
// with the factored forms of ../rows.go. Rows are stride floats apart;
// the kernels do n &^ 7 columns and leave the rest to the Go loops.
//
// Run from this directory: go run . -out ../transform_amd64.s -stubs ../transform_amd64.go -pkg winograd
package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	floatConst("two", 2)
	floatConst("four", 4)
	floatConst("five", 5)
	floatConst("eight", 8)
	inputRows()
	outputRows()
	Generate()
}

// floatConst defines a 4-byte constant broadcast into a register by the kernels.
func floatConst(name string, v float32) {
	GLOBL(name, RODATA|NOPTR)
	DATA(0, U32(math.Float32bits(v)))
}

type rows struct {
	in, out                reg.Register
	inStride, outStride, n reg.Register
}

// prologue loads the arguments and scales the strides to bytes.
func prologue() rows {
	r := rows{
		in: Load(Param("in"), GP64()), inStride: Load(Param("inStride"), GP64()),
		out: Load(Param("out"), GP64()), outStride: Load(Param("outStride"), GP64()),
		n: Load(Param("n"), GP64()),
	}
	SHLQ(U8(2), r.inStride)
	SHLQ(U8(2), r.outStride)
	SHRQ(U8(3), r.n) // blocks of 8 columns
	return r
}

// loadRows reads six rows' next 8 columns: in, in+s, ..., in+5s.
func loadRows(r rows) [6]reg.VecVirtual {
	var d [6]reg.VecVirtual
	p := GP64()
	MOVQ(r.in, p)
	for j := range d {
		d[j] = YMM()
		VMOVUPS(Mem{Base: p}, d[j])
		if j < 5 {
			ADDQ(r.inStride, p)
		}
	}
	return d
}

func storeRows(r rows, vs []reg.VecVirtual) {
	p := GP64()
	MOVQ(r.out, p)
	for i, v := range vs {
		VMOVUPS(v, Mem{Base: p})
		if i < len(vs)-1 {
			ADDQ(r.outStride, p)
		}
	}
}

func broadcast(name string) reg.VecVirtual {
	v := YMM()
	VBROADCASTSS(NewDataAddr(Symbol{Name: name, Static: true}, 0), v)
	return v
}

func loop(r rows, body func()) {
	Label("loop")
	TESTQ(r.n, r.n)
	JZ(LabelRef("done"))
	body()
	ADDQ(U8(32), r.in)
	ADDQ(U8(32), r.out)
	DECQ(r.n)
	JMP(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

func inputRows() {
	TEXT("inputRowsAVX2", NOSPLIT, "func(in *float32, inStride int, out *float32, outStride int, n int)")
	Doc("inputRowsAVX2 applies B^T to six rows, 8 columns at a time (see inputRowsGeneric).")
	Pragma("noescape")
	r := prologue()
	two, four, five := broadcast("two"), broadcast("four"), broadcast("five")
	loop(r, func() {
		d := loadRows(r)
		t0, t1, t2, t3, t4, t5 := YMM(), YMM(), YMM(), YMM(), YMM(), YMM()
		a, b := YMM(), YMM()
		// t0 = (d4 + 4*d0) - 5*d2
		VMOVAPS(d[4], t0)
		VFMADD231PS(four, d[0], t0)
		VFNMADD231PS(five, d[2], t0)
		// t1 = (d3 + d4) - 4*(d1 + d2); t2 = (d4 - d3) + 4*(d1 - d2)
		VADDPS(d[2], d[1], a)
		VADDPS(d[4], d[3], t1)
		VFNMADD231PS(four, a, t1)
		VSUBPS(d[2], d[1], b)
		VSUBPS(d[3], d[4], t2)
		VFMADD231PS(four, b, t2)
		// t3 = (d4 - d2) + 2*(d3 - d1); t4 = (d4 - d2) - 2*(d3 - d1)
		VSUBPS(d[2], d[4], a)
		VSUBPS(d[1], d[3], b)
		VMOVAPS(a, t3)
		VFMADD231PS(two, b, t3)
		VMOVAPS(a, t4)
		VFNMADD231PS(two, b, t4)
		// t5 = (d5 + 4*d1) - 5*d3
		VMOVAPS(d[5], t5)
		VFMADD231PS(four, d[1], t5)
		VFNMADD231PS(five, d[3], t5)
		storeRows(r, []reg.VecVirtual{t0, t1, t2, t3, t4, t5})
	})
}

func outputRows() {
	TEXT("outputRowsAVX2", NOSPLIT, "func(in *float32, inStride int, out *float32, outStride int, n int)")
	Doc("outputRowsAVX2 applies A^T to six rows, 8 columns at a time (see outputRowsGeneric).")
	Pragma("noescape")
	r := prologue()
	two, four, eight := broadcast("two"), broadcast("four"), broadcast("eight")
	loop(r, func() {
		m := loadRows(r)
		sp, sm, dp, dm := YMM(), YMM(), YMM(), YMM()
		VADDPS(m[2], m[1], sp) // m1 + m2
		VSUBPS(m[2], m[1], sm) // m1 - m2
		VADDPS(m[4], m[3], dp) // m3 + m4
		VSUBPS(m[4], m[3], dm) // m3 - m4
		o0, o1, o2, o3 := YMM(), YMM(), YMM(), YMM()
		// o0 = m0 + (m1+m2) + (m3+m4)
		VADDPS(sp, m[0], o0)
		VADDPS(dp, o0, o0)
		// o1 = (m1-m2) + 2*(m3-m4)
		VMOVAPS(sm, o1)
		VFMADD231PS(two, dm, o1)
		// o2 = (m1+m2) + 4*(m3+m4)
		VMOVAPS(sp, o2)
		VFMADD231PS(four, dp, o2)
		// o3 = ((m1-m2) + 8*(m3-m4)) + m5
		VMOVAPS(sm, o3)
		VFMADD231PS(eight, dm, o3)
		VADDPS(m[5], o3, o3)
		storeRows(r, []reg.VecVirtual{o0, o1, o2, o3})
	})
}
