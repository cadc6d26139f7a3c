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
// inputTiles16AVX512 and outputTiles16AVX512 (AVX-512) transform 16 tiles
// of a channel's plane at a time, a tile per lane, gathering the tiles'
// windows and scattering their outputs (../lanes.go); inputQuarters16AVX512
// and outputQuarters16AVX512 do the same for tiles in runs of four along
// tile rows with masked loads, permutes and masked stores (../quarters.go).
//
// Run from this directory: go run . -out ../transform_amd64.s -stubs ../transform_amd64.go -pkg winograd
package main

import (
	"fmt"
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
	GLOBL("every4th", RODATA|NOPTR)
	for l := range 16 {
		DATA(4*l, U32(4*(l%8)))
	}
	// outputQuarters16's interleaving permutes: pairs of lanes 8h-8h+7 (lane i takes
	// lane 8h+i/2 of the first table when i is even, of the second when odd),
	// then quads of tiles 0-3 and 4-7 from two tables of pairs.
	for h, name := range []string{"pairs0", "pairs1"} {
		GLOBL(name, RODATA|NOPTR)
		for i := range 16 {
			DATA(4*i, U32(16*(i%2)+8*h+i/2))
		}
	}
	for f, name := range []string{"quads0", "quads1"} {
		GLOBL(name, RODATA|NOPTR)
		for i := range 16 {
			t, x := 4*f+i/4, i%4
			DATA(4*i, U32(16*(x/2)+2*t+x%2))
		}
	}
	inputRows()
	outputRows()
	inputTiles16()
	inputQuarters16()
	outputTiles16()
	outputQuarters16()
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

// broadcast loads the named constant into every lane of a new register
// from vec.
func broadcast(name string, vec func() reg.VecVirtual) reg.VecVirtual {
	v := vec()
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
	two, four, five := broadcast("two", YMM), broadcast("four", YMM), broadcast("five", YMM)
	loop(r, func() {
		t := inTransform(loadRows(r), YMM, two, four, five)
		storeRows(r, t[:])
	})
}

func outputRows() {
	TEXT("outputRowsAVX2", NOSPLIT, "func(in *float32, inStride int, out *float32, outStride int, n int)")
	Doc("outputRowsAVX2 applies A^T to six rows, 8 columns at a time (see outputRowsGeneric).")
	Pragma("noescape")
	r := prologue()
	two, four, eight := broadcast("two", YMM), broadcast("four", YMM), broadcast("eight", YMM)
	loop(r, func() {
		o := outTransform(loadRows(r), YMM, two, four, eight)
		storeRows(r, o[:])
	})
}

// inTransform is B^T applied to six vectors in the factored forms of
// ../rows.go (inputRowsGeneric), in registers from vec:
//
//	t0 = (d4 + 4*d0) - 5*d2
//	t1 = (d3 + d4) - 4*(d1 + d2); t2 = (d4 - d3) + 4*(d1 - d2)
//	t3 = (d4 - d2) + 2*(d3 - d1); t4 = (d4 - d2) - 2*(d3 - d1)
//	t5 = (d5 + 4*d1) - 5*d3
func inTransform(d [6]reg.VecVirtual, vec func() reg.VecVirtual, two, four, five reg.VecVirtual) [6]reg.VecVirtual {
	var t [6]reg.VecVirtual
	for i := range t {
		t[i] = vec()
	}
	a, b := vec(), vec()
	VMOVAPS(d[4], t[0])
	VFMADD231PS(four, d[0], t[0])
	VFNMADD231PS(five, d[2], t[0])
	VADDPS(d[2], d[1], a)
	VADDPS(d[4], d[3], t[1])
	VFNMADD231PS(four, a, t[1])
	VSUBPS(d[2], d[1], b)
	VSUBPS(d[3], d[4], t[2])
	VFMADD231PS(four, b, t[2])
	VSUBPS(d[2], d[4], a)
	VSUBPS(d[1], d[3], b)
	VMOVAPS(a, t[3])
	VFMADD231PS(two, b, t[3])
	VMOVAPS(a, t[4])
	VFNMADD231PS(two, b, t[4])
	VMOVAPS(d[5], t[5])
	VFMADD231PS(four, d[1], t[5])
	VFNMADD231PS(five, d[3], t[5])
	return t
}

// outTransform is A^T applied to six vectors in the factored forms of
// ../rows.go (outputRowsGeneric):
//
//	o0 = m0 + (m1+m2) + (m3+m4); o1 = (m1-m2) + 2*(m3-m4)
//	o2 = (m1+m2) + 4*(m3+m4);    o3 = ((m1-m2) + 8*(m3-m4)) + m5
func outTransform(m [6]reg.VecVirtual, vec func() reg.VecVirtual, two, four, eight reg.VecVirtual) [4]reg.VecVirtual {
	sp, sm, dp, dm := vec(), vec(), vec(), vec()
	VADDPS(m[2], m[1], sp)
	VSUBPS(m[2], m[1], sm)
	VADDPS(m[4], m[3], dp)
	VSUBPS(m[4], m[3], dm)
	o := [4]reg.VecVirtual{vec(), vec(), vec(), vec()}
	VADDPS(sp, m[0], o[0])
	VADDPS(dp, o[0], o[0])
	VMOVAPS(sm, o[1])
	VFMADD231PS(two, dm, o[1])
	VMOVAPS(sp, o[2])
	VFMADD231PS(four, dp, o[2])
	VMOVAPS(sm, o[3])
	VFMADD231PS(eight, dm, o[3])
	VADDPS(m[5], o[3], o[3])
	return o
}

// inputQuarters16 is inputTiles16 without gathers, for tiles that lie along
// tile rows (../quarters.go): each quarter of the lanes is up to 4
// neighbouring tiles of one tile row, whose window row r at column x is
// every fourth float from one point of the plane. A masked 16-float load
// holds it for 4 tiles (zeros outside the plane), a permute picks two
// quarters' floats into 8 lanes, and a masked move joins two such halves: a
// gather of 16 floats cost Zen 5 more than the three.
func inputQuarters16() {
	TEXT("inputQuarters16AVX512", 0, "func(plane *float32, off *int32, masks *uint16, v *float32, posStride int)")
	Doc(
		"inputQuarters16AVX512 transforms the 16 tiles of one group of quarters",
		"of an image plane (see inputQuarters16Generic): lane 4k+t reads window",
		"row r, column x at plane[off[(6h+r)*2+q] + x + 4t] where h = k/2, q =",
		"k%2 and bit 4t of masks[((6h+r)*6+x)*2 + q] is set, zero elsewhere, and",
		"position p of the transformed tiles is stored at v + p*posStride",
		"floats, all 16 lanes.",
	)
	Pragma("noescape")
	plane := Load(Param("plane"), GP64())
	off := Load(Param("off"), GP64())
	masks := Load(Param("masks"), GP64())
	v := Load(Param("v"), GP64())
	ps := Load(Param("posStride"), GP64())
	SHLQ(U8(2), ps)
	two, four, five := broadcast("two", ZMM), broadcast("four", ZMM), broadcast("five", ZMM)
	idx := ZMM() // lane t and lane 8+t take float 4t of a pair of loads
	VMOVDQU32(NewDataAddr(Symbol{Name: "every4th", Static: true}, 0), idx)
	hi := K() // lanes 8-15
	himask := GP32()
	MOVL(U32(0xff00), himask)
	KMOVW(himask, hi)
	cols := AllocLocal(36 * 64) // B^T d, column by column
	k := K()
	row := GP64()
	// avo takes a masked load's destination as read, so each load starts
	// from a copy of zero (as inputTiles16's gathers do).
	zero := ZMM()
	VPXORD(zero, zero, zero)
	half := func(h, r, x int) reg.VecVirtual {
		a, b := ZMM(), ZMM()
		for q, dst := range []reg.VecVirtual{a, b} {
			MOVLQSX(Mem{Base: off, Disp: 4 * ((6*h+r)*2 + q)}, row)
			KMOVW(Mem{Base: masks, Disp: 2 * (((6*h+r)*6+x)*2 + q)}, k)
			VMOVAPS(zero, dst)
			VMOVUPS_Z(Mem{Base: plane, Index: row, Scale: 4, Disp: 4 * x}, k, dst)
		}
		VPERMT2PS(b, idx, a)
		return a
	}
	inputColumnPass(cols, two, four, five, func(x, r int) reg.VecVirtual {
		lo, up := half(0, r, x), half(1, r, x)
		VMOVAPS(up, hi, lo) // lanes 8-15 from the second half
		return lo
	})
	inputRowPass(cols, v, ps, two, four, five, nil)
	VZEROUPPER()
	RET()
}

// outputQuarters16 is outputTiles16 without scatters, for the groups of
// quarters of inputQuarters16: the four outputs of a tile row in each tile
// of a quarter are interleaved by permutes into 16 floats side by side in
// the image row, stored (and the residual loaded) with a masked move.
func outputQuarters16() {
	TEXT("outputQuarters16AVX512", 0, "func(m *float32, posStride int, y *float32, res *float32, off *int32, masks *uint16, scale float32, shift float32, relu bool)")
	Doc(
		"outputQuarters16AVX512 transforms the products of the 16 lanes of one",
		"group of quarters of a channel back (see outputQuarters16Generic): output",
		"row r, column x of the tile of lane 4k+t goes to y[off[(4h+r)*2+q] + 4t",
		"+ x], h = k/2, q = k%2, where bit 4t+x of masks[(4h+r)*2 + q] is set, as",
		"y*scale + shift (+ res at the same index if res is not nil), then",
		"max(., 0) if relu (which turns a NaN into 0).",
	)
	Pragma("noescape")
	rows, two, four, eight := outputColumns()
	e := outputArgs("off")
	off := e.index
	table := func(name string) reg.VecVirtual {
		v := ZMM()
		VMOVDQU32(NewDataAddr(Symbol{Name: name, Static: true}, 0), v)
		return v
	}
	pairs := [2]reg.VecVirtual{table("pairs0"), table("pairs1")}
	quads := [2]reg.VecVirtual{table("quads0"), table("quads1")}
	k := K()
	at := GP64()
	for r := range 4 {
		var d [6]reg.VecVirtual
		for j := range d {
			d[j] = ZMM()
			VMOVUPS(rows.Offset(64*(r*6+j)), d[j])
		}
		o := outTransform(d, ZMM, two, four, eight)
		for x := range o {
			VFMADD132PS(e.scale, e.shift, o[x]) // o*scale + shift
		}
		for h := range 2 {
			a, b := ZMM(), ZMM()
			VMOVAPS(o[0], a)
			VPERMT2PS(o[1], pairs[h], a) // x = 0, 1 of tiles 0-7
			VMOVAPS(o[2], b)
			VPERMT2PS(o[3], pairs[h], b) // x = 2, 3
			for f := range 2 {
				MOVLQSX(Mem{Base: off, Disp: 4 * ((4*h+r)*2 + f)}, at)
				v := ZMM()
				VMOVAPS(a, v)
				VPERMT2PS(b, quads[f], v) // quarter 2h+f's tiles, x = 0..3
				mask := Mem{Base: e.masks, Disp: 2 * ((4*h+r)*2 + f)}
				e.finish(v, mask, k, fmt.Sprintf("h%dr%df%d", h, r, f), func(t reg.VecVirtual) {
					VMOVUPS_Z(Mem{Base: e.res, Index: at, Scale: 4}, k, t)
				}, func() {
					VMOVUPS(v, k, Mem{Base: e.y, Index: at, Scale: 4})
				})
			}
		}
	}
	VZEROUPPER()
	RET()
}

// inputColumnPass applies B^T down each column x of the 6x6 windows of 16
// lanes, whose row r load(x, r) brings into a register, into the local cols
// (i*6+x).
func inputColumnPass(cols Mem, two, four, five reg.VecVirtual, load func(x, r int) reg.VecVirtual) {
	for x := range 6 {
		var d [6]reg.VecVirtual
		for r := range d {
			d[r] = load(x, r)
		}
		for i, t := range inTransform(d, ZMM, two, four, five) {
			VMOVUPS(t, cols.Offset(64*(i*6+x)))
		}
	}
}

// inputRowPass applies B^T across each row of the local cols (B^T d, column
// by column) and stores position i*6+j of the 16 lanes at v + (i*6+j)*ps
// bytes, the lanes in keep if it is not nil.
func inputRowPass(cols Mem, v, ps reg.Register, two, four, five reg.VecVirtual, keep reg.Register) {
	out := GP64()
	for i := range 6 {
		var d [6]reg.VecVirtual
		for x := range d {
			d[x] = ZMM()
			VMOVUPS(cols.Offset(64*(i*6+x)), d[x])
		}
		MOVQ(ps, out)
		IMUL3Q(U32(i*6), out, out)
		ADDQ(v, out)
		for j, t := range inTransform(d, ZMM, two, four, five) {
			if keep != nil {
				VMOVUPS(t, keep, Mem{Base: out})
			} else {
				VMOVUPS(t, Mem{Base: out})
			}
			if j < 5 {
				ADDQ(ps, out)
			}
		}
	}
}

// outputColumns loads the m and posStride arguments of an output transform
// and applies A^T down each column of the 36 positions of 16 lanes, into
// the local rows (r*6+j), returning them with the constants for the rows.
func outputColumns() (rows Mem, two, four, eight reg.VecVirtual) {
	m := Load(Param("m"), GP64())
	ps := Load(Param("posStride"), GP64())
	SHLQ(U8(2), ps)
	step6 := GP64()
	IMUL3Q(U32(6), ps, step6) // from row i of the 6x6 positions to row i+1
	two, four, eight = broadcast("two", ZMM), broadcast("four", ZMM), broadcast("eight", ZMM)
	rows = AllocLocal(24 * 64) // A^T M, column by column
	q := GP64()
	for j := range 6 {
		IMUL3Q(U32(j), ps, q)
		ADDQ(m, q)
		var d [6]reg.VecVirtual
		for i := range d {
			d[i] = ZMM()
			VMOVUPS(Mem{Base: q}, d[i])
			if i < 5 {
				ADDQ(step6, q)
			}
		}
		for r, o := range outTransform(d, ZMM, two, four, eight) {
			VMOVUPS(o, rows.Offset(64*(r*6+j)))
		}
	}
	return rows, two, four, eight
}

// outputArgs loads an output transform's epilogue arguments: y, res, the
// index table named index, masks, relu, scale and shift, and makes a zero.
func outputArgs(index string) outEpilogue {
	var e outEpilogue
	e.y = Load(Param("y"), GP64())
	e.res = Load(Param("res"), GP64())
	e.index = Load(Param(index), GP64())
	e.masks = Load(Param("masks"), GP64())
	e.relu = Load(Param("relu"), GP8())
	e.scale, e.shift, e.zero = ZMM(), ZMM(), ZMM()
	VBROADCASTSS(NewParamAddr("scale", 48), e.scale)
	VBROADCASTSS(NewParamAddr("shift", 52), e.shift)
	VPXORD(e.zero, e.zero, e.zero)
	return e
}

// outEpilogue is the epilogue state of an output transform.
type outEpilogue struct {
	y, res, index, masks, relu reg.Register
	scale, shift, zero         reg.VecVirtual
}

// finish adds the residual to o if res is not nil (loadRes loads it under
// mask k into a register of zeros), then takes max(o, 0) if relu, then
// stores o (store, under mask k); tag makes the labels unique.
func (e outEpilogue) finish(o reg.VecVirtual, mask Op, k reg.Register, tag string, loadRes func(t reg.VecVirtual), store func()) {
	TESTQ(e.res, e.res)
	JZ(LabelRef("relu" + tag))
	KMOVW(mask, k)
	t := ZMM()
	VMOVAPS(e.zero, t)
	loadRes(t)
	VADDPS(t, o, o)
	Label("relu" + tag)
	TESTB(e.relu, e.relu)
	JZ(LabelRef("store" + tag))
	VMAXPS(e.zero, o, o)
	Label("store" + tag)
	KMOVW(mask, k)
	store()
}

// inputTiles16 and outputTiles16 transform the 16 tiles of one channel of
// a 13x13 to 16x16 image at once, one tile per vector lane: the 36 inputs
// of a position in the tiles' 6x6 windows are one masked gather (zeros
// outside the image), and the 16 outputs of a position in the 4x4 tiles one
// masked scatter. The small images' row-by-row transforms spent most of
// their time in Go overhead.
func inputTiles16() {
	TEXT("inputTiles16AVX512", 0, "func(plane *float32, idx *int32, masks *uint16, v *float32, posStride int, keep int)")
	Doc(
		"inputTiles16AVX512 transforms 16 tiles of one image plane (see",
		"inputTiles16Generic): window position p of lane t reads plane[idx[16p+t]]",
		"where bit t of masks[p] is set, zero elsewhere, and position q of the",
		"transformed tiles is stored at v + q*posStride floats, the lanes whose",
		"bits are set in keep.",
	)
	Pragma("noescape")
	plane := Load(Param("plane"), GP64())
	idx := Load(Param("idx"), GP64())
	masks := Load(Param("masks"), GP64())
	v := Load(Param("v"), GP64())
	ps := Load(Param("posStride"), GP64())
	SHLQ(U8(2), ps)
	keep := K()
	keepBits := GP64()
	Load(Param("keep"), keepBits)
	KMOVW(keepBits.As32(), keep)
	two, four, five := broadcast("two", ZMM), broadcast("four", ZMM), broadcast("five", ZMM)
	cols := AllocLocal(36 * 64) // B^T d, column by column
	k := K()
	// A masked gather merges into its destination, so each starts from a
	// copy of zero: avo then sees a fresh value, where zeroing it by itself
	// would read it first and keep it live from the start.
	zero := ZMM()
	VPXORD(zero, zero, zero)
	inputColumnPass(cols, two, four, five, func(x, r int) reg.VecVirtual {
		p := r*6 + x
		ix := ZMM()
		VMOVDQU32(Mem{Base: idx, Disp: 64 * p}, ix)
		mask := GP32()
		MOVWLZX(Mem{Base: masks, Disp: 2 * p}, mask)
		KMOVW(mask, k)
		d := ZMM()
		VMOVAPS(zero, d)
		VGATHERDPS(Mem{Base: plane, Index: ix, Scale: 4}, k, d)
		return d
	})
	inputRowPass(cols, v, ps, two, four, five, keep)
	VZEROUPPER()
	RET()
}

func outputTiles16() {
	TEXT("outputTiles16AVX512", 0, "func(m *float32, posStride int, y *float32, res *float32, idx *int32, masks *uint16, scale float32, shift float32, relu bool)")
	Doc(
		"outputTiles16AVX512 transforms the products of 16 tiles of one channel back",
		"(see outputTiles16Generic): output position p of tile t is written to",
		"y[idx[16p+t]] where bit t of masks[p] is set, as y*scale + shift (+ res",
		"at the same index if res is not nil), then max(., 0) if relu (which",
		"turns a NaN into 0).",
	)
	Pragma("noescape")
	rows, two, four, eight := outputColumns()
	e := outputArgs("idx")
	idx := e.index
	k := K()
	for r := range 4 {
		var d [6]reg.VecVirtual
		for j := range d {
			d[j] = ZMM()
			VMOVUPS(rows.Offset(64*(r*6+j)), d[j])
		}
		for x, o := range outTransform(d, ZMM, two, four, eight) {
			pos := r*4 + x
			VFMADD132PS(e.scale, e.shift, o) // o*scale + shift
			ix := ZMM()
			VMOVDQU32(Mem{Base: idx, Disp: 64 * pos}, ix)
			mask := GP32()
			MOVWLZX(Mem{Base: e.masks, Disp: 2 * pos}, mask)
			e.finish(o, mask, k, fmt.Sprint(pos), func(t reg.VecVirtual) { // a gather clears its mask: finish sets it again
				VGATHERDPS(Mem{Base: e.res, Index: ix, Scale: 4}, k, t)
			}, func() {
				VSCATTERDPS(o, k, Mem{Base: e.y, Index: ix, Scale: 4})
			})
		}
	}
	VZEROUPPER()
	RET()
}
