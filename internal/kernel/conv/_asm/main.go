// Command _asm generates the blocked direct-convolution tile kernels for
// amd64 (AVX-512) with avo.
//
// A kernel computes an MR x NR tile of output (MR output channels, NR
// consecutive output columns of one row). The input was rearranged so that
// every tap (input channel c, kernel row r, column s) of every stride reads NR
// consecutive floats at x + offs[tap]; the weights of the MR channels are
// packed tap-major. One tap loads NR/16 vectors of input, broadcasts the MR
// weights in turn and multiplies-adds: MR*NR/16 FMAs per NR/16 + MR loads.
// The epilogue (scale, shift, residual, max with floor) is applied before
// the masked store of the n valid columns.
//
// Run from this directory: go run . -out ../tile_amd64.s -stubs ../tile_amd64.go -pkg conv
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	// Both use 16 accumulators: four channels by 64 columns for groups of 4
	// channels, eight by 32 otherwise.
	kernel(4, 4, false)
	kernel(8, 2, false)
	// Stride-2 twins read 2*NR consecutive inputs per tap and keep the even
	// ones (two loads and a two-table permute per vector), so a stride-2
	// convolution needs only a zero-padded copy of its input.
	evens := GLOBL("evens", RODATA|NOPTR)
	for i := range 16 {
		DATA(4*i, U32(2*i))
	}
	kernel(4, 4, true, evens)
	kernel(8, 2, true, evens)
	iota16 = GLOBL("iota16", RODATA|NOPTR)
	for i := range 16 {
		DATA(4*i, U32(i))
	}
	// Kernels vectorised over output channels instead of columns: each
	// input is broadcast, so any stride reads as cheaply as stride 1.
	for _, cols := range []int{14, 7} {
		bcastKernel(cols, 1)
		bcastKernel(cols, 2)
	}
	addMaxRows()
	Generate()
}

// iota16 holds the int32s 0..15.
var iota16 Mem

func kernel(mr, nv int, stride2 bool, evens ...Mem) {
	nr := 16 * nv
	name := fmt.Sprintf("tile%dx%dAVX512", mr, nr)
	step := "j"
	if stride2 {
		name = fmt.Sprintf("tile%dx%dS2AVX512", mr, nr)
		step = "2*j"
	}
	TEXT(name, NOSPLIT, "func(taps int, w *float32, offs *int, x *float32, masks uint64, y *float32, ldy int, scale, shift, res *float32, floor float32)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s computes an %dx%d output tile; taps >= 1. It is, in Go:", name, mr, nr),
		"",
		"\tfor r := range MR {",
		"\t\tfor j := range NR {",
		"\t\t\tif masks>>j&1 == 0 {",
		"\t\t\t\tcontinue",
		"\t\t\t}",
		"\t\t\tvar s float32",
		"\t\t\tfor t := range taps {",
		"\t\t\t\ts += w[t*MR+r] * x[offs[t]+"+step+"] // fused multiply-add",
		"\t\t\t}",
		"\t\t\ts = s*scale[r] + shift[r] // fused multiply-add",
		"\t\t\tif res != nil {",
		"\t\t\t\ts += res[r*ldy+j]",
		"\t\t\t}",
		"\t\t\ty[r*ldy+j] = max(s, floor)",
		"\t\t}",
		"\t}",
		"",
		fmt.Sprintf("with MR = %d, NR = %d (masks: one bit per column).", mr, nr),
	)
	acc := make([][]reg.VecVirtual, mr)
	for r := range acc {
		acc[r] = make([]reg.VecVirtual, nv)
		for v := range acc[r] {
			acc[r][v] = ZMM()
			VPXORD(acc[r][v], acc[r][v], acc[r][v])
		}
	}
	taps := Load(Param("taps"), GP64())
	w := Load(Param("w"), GP64())
	offs := Load(Param("offs"), GP64())
	x := Load(Param("x"), GP64())

	var idx reg.VecVirtual
	if stride2 {
		idx = ZMM()
		VMOVUPS(evens[0], idx)
	}

	Label("loop")
	o := GP64()
	MOVQ(Mem{Base: offs}, o)
	row := make([]reg.VecVirtual, nv)
	for v := range row {
		row[v] = ZMM()
		if stride2 {
			VMOVUPS(Mem{Base: x, Index: o, Scale: 4, Disp: 128 * v}, row[v])
			VPERMT2PS(Mem{Base: x, Index: o, Scale: 4, Disp: 128*v + 64}, idx, row[v])
			continue
		}
		VMOVUPS(Mem{Base: x, Index: o, Scale: 4, Disp: 64 * v}, row[v])
	}
	for r := range mr {
		b := ZMM()
		VBROADCASTSS(Mem{Base: w, Disp: 4 * r}, b)
		for v := range row {
			VFMADD231PS(row[v], b, acc[r][v])
		}
	}
	ADDQ(U32(4*mr), w)
	ADDQ(U32(8), offs)
	DECQ(taps)
	JNZ(LabelRef("loop"))

	masks := Load(Param("masks"), GP64())
	k := make([]reg.OpmaskVirtual, nv)
	for v := range k {
		k[v] = K()
		m := GP64()
		MOVQ(masks, m)
		if v > 0 {
			SHRQ(U8(16*v), m)
		}
		KMOVW(m.As32(), k[v])
	}
	y := Load(Param("y"), GP64())
	ldy := Load(Param("ldy"), GP64())
	SHLQ(U8(2), ldy)
	scale := Load(Param("scale"), GP64())
	shift := Load(Param("shift"), GP64())
	res := Load(Param("res"), GP64())
	floor := ZMM()
	VBROADCASTSS(NewParamAddr("floor", 80), floor)
	TESTQ(res, res)
	JZ(LabelRef("nores"))
	store(mr, nv, acc, k, y, ldy, scale, shift, res, floor)
	JMP(LabelRef("done"))
	Label("nores")
	store(mr, nv, acc, k, y, ldy, scale, shift, nil, floor)
	Label("done")
	VZEROUPPER()
	RET()
}

// store applies the epilogue to each accumulator and writes its valid lanes;
// res, when not nil, walks the residual rows alongside y.
func store(mr, nv int, acc [][]reg.VecVirtual, k []reg.OpmaskVirtual, y, ldy, scale, shift, res reg.Register, floor reg.VecVirtual) {
	yp := GP64()
	MOVQ(y, yp)
	var rp reg.GPVirtual
	if res != nil {
		rp = GP64()
		MOVQ(res, rp)
	}
	for r := range mr {
		s, h := ZMM(), ZMM()
		VBROADCASTSS(Mem{Base: scale, Disp: 4 * r}, s)
		VBROADCASTSS(Mem{Base: shift, Disp: 4 * r}, h)
		for v := range nv {
			a := acc[r][v]
			VFMADD213PS(h, s, a)
			if res != nil {
				t := ZMM()
				VMOVUPS_Z(Mem{Base: rp, Disp: 64 * v}, k[v], t)
				VADDPS(t, a, a)
			}
			VMAXPS(floor, a, a)
			VMOVUPS(a, k[v], Mem{Base: yp, Disp: 64 * v})
		}
		if r < mr-1 {
			ADDQ(ldy, yp)
			if res != nil {
				ADDQ(ldy, rp)
			}
		}
	}
}

// bcastKernel generates the 32-channel x cols-column kernel for the given
// input step between output columns. Per tap it loads the 32 weights of the
// tap (two vectors) and broadcasts the cols inputs: 2*cols FMAs for cols+2
// loads. 14 columns (28 accumulators, 31 of the 32 vector registers) tile
// DLA's output widths 14, 28, 56 and 112 exactly; 7 columns serve 7.
//
// The epilogue is vectorised over channels too (scale and shift are read as
// vectors); each accumulator, one output column of 16 channels, is then
// scattered to its 16 channel rows of the NCHW output, ldy floats apart. A
// residual is added by the caller (gathering it here ran out of registers,
// and only a few layers have one).
func bcastKernel(cols, step int) {
	name := fmt.Sprintf("bcast32x%dS%dAVX512", cols, step)
	TEXT(name, NOSPLIT, "func(taps int, w *float32, offs *int, x *float32, y *float32, ldy, n int, scale, shift *float32, floor float32)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s computes a 32-channel x %d-column tile; taps >= 1,", name, cols),
		"1 <= n <= cols, 32*ldy < 2^31. It is, in Go:",
		"",
		"\tfor j := range n {",
		"\t\tfor k := range 32 {",
		"\t\t\tvar s float32",
		"\t\t\tfor t := range taps {",
		fmt.Sprintf("\t\t\t\ts += w[t*32+k] * x[offs[t]+%d*j] // fused multiply-add", step),
		"\t\t\t}",
		"\t\t\ty[k*ldy+j] = max(s*scale[k]+shift[k], floor)",
		"\t\t}",
		"\t}",
	)
	acc := make([][2]reg.VecVirtual, cols)
	for j := range acc {
		for v := range 2 {
			acc[j][v] = ZMM()
			VPXORD(acc[j][v], acc[j][v], acc[j][v])
		}
	}
	taps := Load(Param("taps"), GP64())
	w := Load(Param("w"), GP64())
	offs := Load(Param("offs"), GP64())
	x := Load(Param("x"), GP64())

	Label("loop")
	o := GP64()
	MOVQ(Mem{Base: offs}, o)
	w0, w1 := ZMM(), ZMM()
	VMOVUPS(Mem{Base: w}, w0)
	VMOVUPS(Mem{Base: w, Disp: 64}, w1)
	for j := range cols {
		b := ZMM()
		VBROADCASTSS(Mem{Base: x, Index: o, Scale: 4, Disp: 4 * step * j}, b)
		VFMADD231PS(w0, b, acc[j][0])
		VFMADD231PS(w1, b, acc[j][1])
	}
	ADDQ(U32(128), w)
	ADDQ(U32(8), offs)
	DECQ(taps)
	JNZ(LabelRef("loop"))

	// idx = ldy * (0, 1, ..., 15): the element offsets of 16 channel rows.
	ldy := GP64()
	Load(Param("ldy"), ldy)
	idx := ZMM()
	VPBROADCASTD(ldy.As32(), idx)
	VPMULLD(iota16, idx, idx)
	// The second 16 channels start 16 rows further on.
	SHLQ(U8(6), ldy) // 16 rows, in bytes
	y := Load(Param("y"), GP64())
	y1 := GP64()
	LEAQ(Mem{Base: y, Index: ldy, Scale: 1}, y1)
	n := Load(Param("n"), GP64())
	scale := Load(Param("scale"), GP64())
	shift := Load(Param("shift"), GP64())
	floor := NewParamAddr("floor", 72)
	k, ones := K(), GP32()
	MOVL(U32(0xffff), ones) // the mask of all 16 lanes; scatters clear it
	bcastStore(cols, acc, idx, k, ones, n, [2]reg.Register{y, y1}, scale, shift, floor, "done")
	Label("done")
	VZEROUPPER()
	RET()
}

// bcastStore applies the epilogue to each column's two accumulators and
// scatters them to the output rows, stopping after n columns.
func bcastStore(cols int, acc [][2]reg.VecVirtual, idx reg.VecVirtual, k reg.OpmaskVirtual, ones reg.GPVirtual, n reg.Register, y [2]reg.Register, scale, shift reg.Register, floor Mem, done string) {
	for j := range cols {
		if j > 0 {
			CMPQ(n, U32(j))
			JLE(LabelRef(done))
		}
		for v := range 2 {
			a := acc[j][v]
			VMULPS(Mem{Base: scale, Disp: 64 * v}, a, a)
			VADDPS(Mem{Base: shift, Disp: 64 * v}, a, a)
			VMAXPS_BCST(floor, a, a)
			KMOVW(ones, k)
			VSCATTERDPS(a, k, Mem{Base: y[v], Index: idx, Scale: 4, Disp: 4 * j})
		}
	}
}

// addMaxRows generates the residual pass of the bcast tiles: their kernels
// leave out the residual, whose gather would need more registers than the
// 28 accumulators leave.
func addMaxRows() {
	TEXT("addMaxRowsAVX512", NOSPLIT, "func(y, res *float32, ld, rows, n int, floor float32)")
	Pragma("noescape")
	Doc(
		"addMaxRowsAVX512 adds res to y and applies the floor on rows >= 1 rows of",
		"1 <= n <= 16 floats, ld apart. It is, in Go:",
		"",
		"\tfor r := range rows {",
		"\t\tfor j := range n {",
		"\t\t\ty[r*ld+j] = max(y[r*ld+j]+res[r*ld+j], floor)",
		"\t\t}",
		"\t}",
	)
	y := Load(Param("y"), GP64())
	res := Load(Param("res"), GP64())
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	rows := Load(Param("rows"), GP64())
	n := Load(Param("n"), GP64())
	// mask = 1<<n - 1: the n valid lanes.
	m := GP64()
	MOVQ(U32(1), m)
	SHLXQ(n, m, m)
	DECQ(m)
	k := K()
	KMOVW(m.As32(), k)
	floor := ZMM()
	VBROADCASTSS(NewParamAddr("floor", 40), floor)
	Label("row")
	a, b := ZMM(), ZMM()
	VMOVUPS_Z(Mem{Base: y}, k, a)
	VMOVUPS_Z(Mem{Base: res}, k, b)
	VADDPS(b, a, a)
	VMAXPS(floor, a, a)
	VMOVUPS(a, k, Mem{Base: y})
	ADDQ(ld, y)
	ADDQ(ld, res)
	DECQ(rows)
	JNZ(LabelRef("row"))
	VZEROUPPER()
	RET()
}
