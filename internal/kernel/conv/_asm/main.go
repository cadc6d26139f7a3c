// Command _asm generates the blocked direct-convolution tile kernels for
// amd64 (AVX-512, and pieces of the tile and bcast kernels for AVX2) with
// avo.
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
	// Kernels vectorised over output channels instead of columns: each
	// input is broadcast, so any stride reads as cheaply as stride 1.
	for _, cols := range []int{14, 7} {
		bcastKernel(cols, 1)
		bcastKernel(cols, 2)
	}
	// The fused stem's kernels (stem.go): 16 channels interleaved, and the
	// 32-channel kernel reading them at stride 2 (32 floats a column).
	bcast16Kernel(28, 1)
	bcast16Kernel(28, 16)
	bcastKernel(14, 32)
	// Without AVX-512, the bcast tiles run as pieces of 16 channels and up
	// to 6 columns (bcastAVX2Kernel).
	for _, step := range []int{1, 2, 32} {
		for cols := 1; cols <= 7; cols++ {
			bcastAVX2Kernel(cols, step)
		}
	}
	lanebits := GLOBL("lanebits", RODATA|NOPTR)
	for i := range 16 {
		DATA(4*i, U32(1<<i))
	}
	tileAVX2Kernel(false, lanebits)
	tileAVX2Kernel(true, lanebits)
	padRowsKernel()
	odds := GLOBL("odds", RODATA|NOPTR)
	for i := range 16 {
		DATA(4*i, U32(2*i+1))
	}
	split2Kernel(evens, odds)
	split2AVX2Kernel()
	prefetchRowsKernel()
	Generate()
}

// prefetchRowsKernel generates prefetchRows, which asks for the first and
// last float of rows rows of width floats, ld floats apart, in L1: the rows
// of a residual or output tile that a kernel call will read or write next.
func prefetchRowsKernel() {
	TEXT("prefetchRows", NOSPLIT, "func(p *float32, ld, rows, width int)")
	Pragma("noescape")
	Doc(
		"prefetchRows prefetches into L1 the cache lines of p[i*ld] and",
		"p[i*ld+width-1] for i < rows; rows, width >= 1. It changes no memory.",
	)
	p := Load(Param("p"), GP64())
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	rows := Load(Param("rows"), GP64())
	last := Load(Param("width"), GP64())
	DECQ(last)
	SHLQ(U8(2), last)
	Label("row")
	PREFETCHT0(Mem{Base: p})
	PREFETCHT0(Mem{Base: p, Index: last, Scale: 1})
	ADDQ(ld, p)
	DECQ(rows)
	JNZ(LabelRef("row"))
	RET()
}

func kernel(mr, nv int, stride2 bool, evens ...Mem) {
	nr := 16 * nv
	name := fmt.Sprintf("tile%dx%dAVX512", mr, nr)
	step := "j"
	if stride2 {
		name = fmt.Sprintf("tile%dx%dS2AVX512", mr, nr)
		step = "2*j"
	}
	TEXT(name, NOSPLIT, "func(taps int, w *float32, offs *int, x *float32, masks uint64, y *float32, ldy, ystep int, scale, shift, res *float32, floor float32)")
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
		"\t\t\ti := r*ldy + j/16*ystep + j%16",
		"\t\t\tif res != nil {",
		"\t\t\t\ts += res[i]",
		"\t\t\t}",
		"\t\t\ty[i] = max(s, floor)",
		"\t\t}",
		"\t}",
		"",
		fmt.Sprintf("with MR = %d, NR = %d (masks: one bit per column). Each 16 columns are", mr, nr),
		"stored ystep floats after the previous 16: 16 for one output row, or an",
		"output row's width when each vector computes a row of its own.",
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
	// vecOff[v]: the byte offset of vector v's columns, v*ystep floats.
	ystep := Load(Param("ystep"), GP64())
	SHLQ(U8(2), ystep)
	vecOff := make([]reg.Register, nv)
	for v := 1; v < nv; v++ {
		vecOff[v] = GP64()
		switch v {
		case 1:
			MOVQ(ystep, vecOff[v])
		case 2:
			LEAQ(Mem{Base: ystep, Index: ystep, Scale: 1}, vecOff[v])
		default:
			LEAQ(Mem{Base: ystep, Index: ystep, Scale: 2}, vecOff[v])
		}
	}
	scale := Load(Param("scale"), GP64())
	shift := Load(Param("shift"), GP64())
	res := Load(Param("res"), GP64())
	floor := ZMM()
	VBROADCASTSS(NewParamAddr("floor", 88), floor)
	TESTQ(res, res)
	JZ(LabelRef("nores"))
	store(mr, nv, acc, k, y, ldy, vecOff, scale, shift, res, floor)
	JMP(LabelRef("done"))
	Label("nores")
	store(mr, nv, acc, k, y, ldy, vecOff, scale, shift, nil, floor)
	Label("done")
	VZEROUPPER()
	RET()
}

// store applies the epilogue to each accumulator and writes its valid lanes,
// vector v at vecOff[v] bytes (vector 0 at 0); res, when not nil, walks the
// residual rows alongside y.
func store(mr, nv int, acc [][]reg.VecVirtual, k []reg.OpmaskVirtual, y, ldy reg.Register, vecOff []reg.Register, scale, shift, res reg.Register, floor reg.VecVirtual) {
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
			at := func(base reg.Register) Mem {
				if v == 0 {
					return Mem{Base: base}
				}
				return Mem{Base: base, Index: vecOff[v], Scale: 1}
			}
			a := acc[r][v]
			VFMADD213PS(h, s, a)
			if res != nil {
				t := ZMM()
				VMOVUPS_Z(at(rp), k[v], t)
				VADDPS(t, a, a)
			}
			VMAXPS(floor, a, a)
			VMOVUPS(a, k[v], at(yp))
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
// The epilogue's scale and shift are applied per channel vector; each half
// of the accumulators (16 channels x cols columns) is then transposed in
// registers, so that each of its 16 channel rows is one vector, and the
// residual and floor are applied row by row before a masked store of the n
// valid columns. A scatter per accumulator, the first version, cost about
// 28 cycles each: 200 ns a tile, 15% of a 16-channel 3x3 convolution.
func bcastKernel(cols, step int) {
	name := fmt.Sprintf("bcast32x%dS%dAVX512", cols, step)
	TEXT(name, NOSPLIT, "func(taps int, w, pf *float32, pfStep int, offs *int, x *float32, y *float32, ldy, n int, scale, shift, res *float32, floor float32)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s computes a 32-channel x %d-column tile; taps >= 1,", name, cols),
		fmt.Sprintf("1 <= n <= %d; res may be nil. Tap t prefetches the cache line at", cols),
		"byte pfStep*t of pf into L2 (weights a later tile will need) and, at",
		"steps 1 and 2, its input two tiles ahead into L1. It is, in Go:",
		"",
		"\tfor j := range n {",
		"\t\tfor k := range 32 {",
		"\t\t\tvar s float32",
		"\t\t\tfor t := range taps {",
		fmt.Sprintf("\t\t\t\ts += w[t*32+k] * x[offs[t]+%d*j] // fused multiply-add", step),
		"\t\t\t}",
		"\t\t\ts = s*scale[k] + shift[k]",
		"\t\t\tif res != nil {",
		"\t\t\t\ts += res[k*ldy+j]",
		"\t\t\t}",
		"\t\t\ty[k*ldy+j] = max(s, floor)",
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
	taps, w, offs, x := tapArgs()
	pf, pfStep := Load(Param("pf"), GP64()), Load(Param("pfStep"), GP64())

	Label("loop")
	o := GP64()
	MOVQ(Mem{Base: offs}, o)
	PREFETCHT1(Mem{Base: pf})
	ADDQ(pfStep, pf)
	// The input two tiles ahead, one line a tap: a 1x1's input rows are
	// C separate streams, too many for the hardware prefetcher, and in a
	// model half of them sit in the other core's cache.
	if step <= 2 {
		PREFETCHT0(Mem{Base: x, Index: o, Scale: 4, Disp: 2 * 4 * step * cols})
	}
	bcastTap(acc, ZMM, 64, step, w, x, o, false)
	ADDQ(U32(128), w)
	ADDQ(U32(8), offs)
	DECQ(taps)
	JNZ(LabelRef("loop"))
	bcastScaleShift(acc, 64)
	// k = the n valid columns (lanes of a transposed row).
	n := Load(Param("n"), GP64())
	k := K()
	lowMask(n, GP64(), k)
	ldy := Load(Param("ldy"), GP64())
	SHLQ(U8(2), ldy)
	y := Load(Param("y"), GP64())
	res := Load(Param("res"), GP64())
	floor := NewParamAddr("floor", 96)
	TESTQ(res, res)
	JZ(LabelRef("nores"))
	bcastRows(cols, acc, k, y, res, ldy, floor)
	JMP(LabelRef("done"))
	Label("nores")
	bcastRows(cols, acc, k, y, nil, ldy, floor)
	Label("done")
	VZEROUPPER()
	RET()
}

// bcastTap multiplies-adds one tap of the bcast kernels: the tap's two
// weight vectors (of vecBytes each, from w) times each column's input,
// broadcast from x + 4*o + 4*step*j. With w1Mem the second weight vector is
// each FMA's memory operand instead of a register.
func bcastTap(acc [][2]reg.VecVirtual, vec func() reg.VecVirtual, vecBytes, step int, w, x, o reg.Register, w1Mem bool) {
	w0 := vec()
	VMOVUPS(Mem{Base: w}, w0)
	var w1 Op = Mem{Base: w, Disp: vecBytes}
	if !w1Mem {
		r := vec()
		VMOVUPS(w1, r)
		w1 = r
	}
	for j := range acc {
		b := vec()
		VBROADCASTSS(Mem{Base: x, Index: o, Scale: 4, Disp: 4 * step * j}, b)
		VFMADD231PS(w0, b, acc[j][0])
		VFMADD231PS(w1, b, acc[j][1])
	}
}

// bcastScaleShift applies the epilogue's scale and shift to the bcast
// accumulators, a channel vector (vecBytes) at a time.
func bcastScaleShift(acc [][2]reg.VecVirtual, vecBytes int) {
	scale := Load(Param("scale"), GP64())
	shift := Load(Param("shift"), GP64())
	for j := range acc {
		for v := range 2 {
			VMULPS(Mem{Base: scale, Disp: vecBytes * v}, acc[j][v], acc[j][v])
			VADDPS(Mem{Base: shift, Disp: vecBytes * v}, acc[j][v], acc[j][v])
		}
	}
}

// tapArgs loads the arguments every tap loop starts from.
func tapArgs() (taps, w, offs, x reg.Register) {
	return Load(Param("taps"), GP64()), Load(Param("w"), GP64()), Load(Param("offs"), GP64()), Load(Param("x"), GP64())
}

// bcastRows transposes each half of the accumulators and stores its 16
// channel rows (adding the residual rows when res is not nil).
func bcastRows(cols int, acc [][2]reg.VecVirtual, k reg.OpmaskVirtual, y, res, ldy reg.Register, floor Mem) {
	yp := GP64()
	MOVQ(y, yp)
	var rp reg.GPVirtual
	if res != nil {
		rp = GP64()
		MOVQ(res, rp)
	}
	for v := range 2 {
		rows := make([]reg.VecVirtual, 16)
		for j := range rows {
			if j < cols {
				rows[j] = acc[j][v]
				continue
			}
			// A column past the tile, never stored: any value will do. (A
			// zeroing idiom would count as a use, keeping the register
			// live from the start and exhausting the allocator.)
			rows[j] = ZMM()
			VMOVUPS(Mem{Base: y}, rows[j])
		}
		transpose16(rows)
		for r, a := range rows {
			if res != nil {
				VADDPS_Z(Mem{Base: rp}, a, k, a)
			}
			VMAXPS_BCST(floor, a, a)
			VMOVUPS(a, k, Mem{Base: yp})
			if v == 0 || r < 15 {
				ADDQ(ldy, yp)
				if res != nil {
					ADDQ(ldy, rp)
				}
			}
		}
	}
}

// transpose16 transposes the 16x16 matrix whose rows are the vectors in
// place (rows[i] lane j becomes rows[j] lane i) in four rounds of shuffles:
// pairs within 64-bit, then 128-bit units, then 128-bit lanes twice. Each
// shuffle of a pair writes its first result to a new register and the
// second over its second input, so one register beyond the 16 suffices.
func transpose16(rows []reg.VecVirtual) {
	pair := func(a, b int, lo, hi func(x, y, dst reg.VecVirtual)) {
		t := ZMM()
		lo(rows[a], rows[b], t)
		hi(rows[a], rows[b], rows[b])
		rows[a] = t
	}
	unpack := func(a, b int) {
		pair(a, b,
			func(x, y, d reg.VecVirtual) { VUNPCKLPS(y, x, d) },
			func(x, y, d reg.VecVirtual) { VUNPCKHPS(y, x, d) })
	}
	shuf := func(a, b int, lo, hi uint8) {
		pair(a, b,
			func(x, y, d reg.VecVirtual) { VSHUFPS(U8(lo), y, x, d) },
			func(x, y, d reg.VecVirtual) { VSHUFPS(U8(hi), y, x, d) })
	}
	lanes := func(a, b int) {
		pair(a, b,
			func(x, y, d reg.VecVirtual) { VSHUFF32X4(U8(0x88), y, x, d) },
			func(x, y, d reg.VecVirtual) { VSHUFF32X4(U8(0xdd), y, x, d) })
	}
	// Round 1: rows 2i, 2i+1 -> (a0 b0 a1 b1 ...), (a2 b2 a3 b3 ...).
	for i := 0; i < 16; i += 2 {
		unpack(i, i+1)
	}
	// Round 2: within each group of four, columns 0, 1 and 2, 3 of every
	// 128-bit lane. Results land in slots 4g+0..3 as columns 0, 1, 2, 3.
	for g := 0; g < 16; g += 4 {
		shuf(g, g+2, 0x44, 0xee)
		shuf(g+1, g+3, 0x44, 0xee)
		rows[g+1], rows[g+2] = rows[g+2], rows[g+1]
	}
	// Rounds 3 and 4: 128-bit lanes, even and odd, between groups.
	for _, h := range []int{0, 8} {
		for i := range 4 {
			lanes(h+i, h+i+4)
		}
	}
	for i := range 8 {
		lanes(i, i+8)
	}
}

// split2Kernel generates the column split of stride-2 phases: the two
// column phases of a stride-2 convolution are the even and the odd inputs
// of each row, and a scalar loop picking them was 60% of a grouped stride-2
// layer at 28x28. Masked loads and stores take the row's tail, so one call
// splits a row of any length without reading or writing past it.
func split2Kernel(evens, odds Mem) {
	TEXT("split2AVX512", NOSPLIT, "func(even, odd, src *float32, n int)")
	Pragma("noescape")
	Doc(
		"split2AVX512 writes the even-indexed of the n >= 1 floats of src to",
		"even and the odd-indexed to odd. It is, in Go:",
		"",
		"\tfor i := range n {",
		"\t\tif i%2 == 0 {",
		"\t\t\teven[i/2] = src[i]",
		"\t\t} else {",
		"\t\t\todd[i/2] = src[i]",
		"\t\t}",
		"\t}",
	)
	even := Load(Param("even"), GP64())
	odd := Load(Param("odd"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	ie, io := ZMM(), ZMM()
	VMOVUPS(evens, ie)
	VMOVUPS(odds, io)
	CMPQ(n, U32(32))
	JL(LabelRef("tail"))
	Label("loop")
	a, e, o := ZMM(), ZMM(), ZMM()
	VMOVUPS(Mem{Base: src}, a)
	VMOVAPS(a, e)
	VMOVAPS(a, o)
	VPERMT2PS(Mem{Base: src, Disp: 64}, ie, e)
	VPERMT2PS(Mem{Base: src, Disp: 64}, io, o)
	VMOVUPS(e, Mem{Base: even})
	VMOVUPS(o, Mem{Base: odd})
	ADDQ(U32(128), src)
	ADDQ(U32(64), even)
	ADDQ(U32(64), odd)
	SUBQ(U32(32), n)
	CMPQ(n, U32(32))
	JGE(LabelRef("loop"))

	Label("tail")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	// m = 1<<n - 1 over the n < 32 floats left; the evens are (n+1)/2 of
	// them, the odds n/2.
	m, t := GP64(), GP64()
	klo, khi, ke, ko := K(), K(), K(), K()
	lowMask(n, m, klo)
	SHRQ(U8(16), m)
	KMOVW(m.As32(), khi)
	LEAQ(Mem{Base: n, Disp: 1}, t)
	SHRQ(U8(1), t)
	lowMask(t, m, ke)
	SHRQ(U8(1), n)
	lowMask(n, m, ko)
	lo, hi, e2, o2 := ZMM(), ZMM(), ZMM(), ZMM()
	VMOVUPS_Z(Mem{Base: src}, klo, lo)
	VMOVUPS_Z(Mem{Base: src, Disp: 64}, khi, hi)
	VMOVAPS(lo, e2)
	VMOVAPS(lo, o2)
	VPERMT2PS(hi, ie, e2)
	VPERMT2PS(hi, io, o2)
	VMOVUPS(e2, ke, Mem{Base: even})
	VMOVUPS(o2, ko, Mem{Base: odd})
	Label("done")
	VZEROUPPER()
	RET()
}

// padRowsKernel generates the zero-padded copy of a plane's rows that the
// unit-stride layouts read. In Go each row cost a copy call and two pad
// loops, about 14 ns: a quarter of a 3x3 32->32 layer at 28x28. The kernel
// writes each destination row in vectors, each a masked load of the input
// (zero outside the row) and a store masked to the row's end.
func padRowsKernel() {
	TEXT("padRowsAVX512", NOSPLIT, "func(dst, src *float32, w, rows, padL, pitch int)")
	Pragma("noescape")
	Doc(
		"padRowsAVX512 writes rows >= 1 rows of pitch >= 1 floats to dst, each",
		"padL zeros, w >= 1 floats of src and zeros to the end. It is, in Go:",
		"",
		"\tfor r := range rows {",
		"\t\tfor d := range pitch {",
		"\t\t\tvar v float32",
		"\t\t\tif d >= padL && d < padL+w {",
		"\t\t\t\tv = src[r*w+d-padL]",
		"\t\t\t}",
		"\t\t\tdst[r*pitch+d] = v",
		"\t\t}",
		"\t}",
	)
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	w := Load(Param("w"), GP64())
	rows := Load(Param("rows"), GP64())
	padL := Load(Param("padL"), GP64())
	pitch := Load(Param("pitch"), GP64())
	// in = src - padL floats: input column d-padL of a row is in + d.
	in := GP64()
	MOVQ(padL, in)
	SHLQ(U8(2), in)
	NEGQ(in)
	ADDQ(src, in)
	end := GP64() // padL + w: the first destination column past the input
	LEAQ(Mem{Base: padL, Index: w, Scale: 1}, end)
	SHLQ(U8(2), w) // a row of input, in bytes
	ones := GP64()
	MOVQ(I64(-1), ones)
	z := ZMM()
	k, ks := K(), K()
	// clamp16 limits x to [0, 16] (BZHI reads only an index's low byte).
	clamp16 := func(x, t reg.Register) {
		MOVQ(U32(16), t)
		CMPQ(x, t)
		CMOVQGT(t, x)
		XORQ(t, t)
		CMPQ(x, t)
		CMOVQLT(t, x)
	}
	Label("row")
	d := GP64()
	XORQ(d, d)
	Label("chunk")
	lo, hi, t := GP64(), GP64(), GP64()
	// Lanes [padL-d, end-d) of this vector come from the input.
	MOVQ(padL, lo)
	SUBQ(d, lo)
	clamp16(lo, t)
	MOVQ(end, hi)
	SUBQ(d, hi)
	clamp16(hi, t)
	BZHIQ(hi, ones, hi)
	BZHIQ(lo, ones, lo)
	ANDNQ(hi, lo, hi)
	KMOVW(hi.As32(), k)
	VMOVUPS_Z(Mem{Base: in, Index: d, Scale: 4}, k, z)
	// Store up to the row's end.
	MOVQ(pitch, hi)
	SUBQ(d, hi)
	clamp16(hi, t)
	BZHIQ(hi, ones, hi)
	KMOVW(hi.As32(), ks)
	VMOVUPS(z, ks, Mem{Base: dst, Index: d, Scale: 4})
	ADDQ(U32(16), d)
	CMPQ(d, pitch)
	JL(LabelRef("chunk"))
	LEAQ(Mem{Base: dst, Index: pitch, Scale: 4}, dst)
	ADDQ(w, in)
	DECQ(rows)
	JNZ(LabelRef("row"))
	VZEROUPPER()
	RET()
}

// bcast16Kernel generates the 16-channel x cols-pixel kernel of the fused
// stem (stem.go), whose outputs are channel-interleaved: pixel j's 16
// channels are one vector, stored at y + 16*j floats, so a tile needs no
// transpose. stride is the floats between the inputs of adjacent output
// pixels (1 in a plane, 16 in an interleaved image). Each FMA takes its
// input broadcast from memory, so a tap costs cols FMAs and one weight
// load: a separate broadcast per FMA made the loads the limit.
func bcast16Kernel(cols, stride int) {
	name := fmt.Sprintf("bcast16x%dC%dAVX512", cols, stride)
	TEXT(name, NOSPLIT, "func(taps int, w *float32, offs *int, x *float32, y *float32, n int, shift *float32, floor float32)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s computes a 16-channel x %d-pixel interleaved tile;", name, cols),
		fmt.Sprintf("taps >= 1, 1 <= n <= %d. It is, in Go:", cols),
		"",
		"\tfor j := range n {",
		"\t\tfor k := range 16 {",
		"\t\t\tvar s float32",
		"\t\t\tfor t := range taps {",
		fmt.Sprintf("\t\t\t\ts += w[t*16+k] * x[offs[t]+%d*j] // fused multiply-add", stride),
		"\t\t\t}",
		"\t\t\ty[16*j+k] = max(s+shift[k], floor) // a NaN becomes floor",
		"\t\t}",
		"\t}",
	)
	acc := make([]reg.VecVirtual, cols)
	for j := range acc {
		acc[j] = ZMM()
		VPXORD(acc[j], acc[j], acc[j])
	}
	taps, w, offs, x := tapArgs()
	Label("loop")
	o := GP64()
	MOVQ(Mem{Base: offs}, o)
	wv := ZMM()
	VMOVUPS(Mem{Base: w}, wv)
	for j := range cols {
		VFMADD231PS_BCST(Mem{Base: x, Index: o, Scale: 4, Disp: 4 * stride * j}, wv, acc[j])
	}
	ADDQ(U32(64), w)
	ADDQ(U32(8), offs)
	DECQ(taps)
	JNZ(LabelRef("loop"))
	shift := Load(Param("shift"), GP64())
	sh, fl := ZMM(), ZMM()
	VMOVUPS(Mem{Base: shift}, sh)
	VBROADCASTSS(NewParamAddr("floor", 56), fl)
	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	for j := range cols {
		VADDPS(sh, acc[j], acc[j])
		VMAXPS(fl, acc[j], acc[j])
		VMOVUPS(acc[j], Mem{Base: y, Disp: 64 * j})
		if j < cols-1 {
			DECQ(n)
			JZ(LabelRef("done"))
		}
	}
	Label("done")
	VZEROUPPER()
	RET()
}

// lowMask sets k to the n (< 64) low lanes, m = 1<<n - 1 on the way.
func lowMask(n reg.Register, m reg.GPVirtual, k reg.OpmaskVirtual) {
	MOVQ(U32(1), m)
	SHLXQ(n, m, m)
	DECQ(m)
	KMOVW(m.As32(), k)
}

// bcastAVX2Kernel generates a piece of the bcast tile for machines without
// AVX-512: 16 output channels (two ymm) x cols columns (1 to 7), at the given
// input step. With 16 ymm registers a piece holds 2*cols accumulators, the
// tap's two weight vectors and one broadcast: per tap 2*cols FMAs for
// cols+2 loads. The 7-column piece, for rows of 7 columns, takes its
// second weight vector as each FMA's memory operand (cols+8 loads). A tile
// runs as pieces (bcastAVX2 in ../tile_dispatch_amd64.go).
//
// The epilogue's scale and shift are applied per channel vector; then each
// group of up to four columns is transposed in 128-bit lanes, so that each
// output channel's columns are one xmm, and stored exactly (a 4-, 2- or
// 1-float store per part): the pieces of a tile must not write each other's
// columns.
func bcastAVX2Kernel(cols, step int) {
	name := fmt.Sprintf("bcast16x%dS%dAVX2", cols, step)
	TEXT(name, NOSPLIT, "func(taps int, w *float32, offs *int, x *float32, y *float32, ldy int, scale, shift, res *float32, floor float32)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s computes a 16-channel x %d-column piece of a bcast tile;", name, cols),
		"taps >= 1; res may be nil. It is, in Go:",
		"",
		fmt.Sprintf("\tfor j := range %d {", cols),
		"\t\tfor k := range 16 {",
		"\t\t\tvar s float32",
		"\t\t\tfor t := range taps {",
		fmt.Sprintf("\t\t\t\ts += w[t*16+k] * x[offs[t]+%d*j] // fused multiply-add", step),
		"\t\t\t}",
		"\t\t\ts = s*scale[k] + shift[k]",
		"\t\t\tif res != nil {",
		"\t\t\t\ts += res[k*ldy+j]",
		"\t\t\t}",
		"\t\t\ty[k*ldy+j] = max(s, floor) // a NaN becomes floor",
		"\t\t}",
		"\t}",
	)
	acc := make([][2]reg.VecVirtual, cols)
	for j := range acc {
		for v := range 2 {
			acc[j][v] = YMM()
			VXORPS(acc[j][v], acc[j][v], acc[j][v])
		}
	}
	taps, w, offs, x := tapArgs()
	Label("loop")
	o := GP64()
	MOVQ(Mem{Base: offs}, o)
	bcastTap(acc, YMM, 32, step, w, x, o, cols == 7)
	ADDQ(U32(64), w)
	ADDQ(U32(8), offs)
	DECQ(taps)
	JNZ(LabelRef("loop"))
	bcastScaleShift(acc, 32)
	// The 7-column piece's 14 accumulators leave no register for the
	// floor: its rows broadcast it each (bcastRowsAVX2).
	var fl reg.VecVirtual
	if cols < 7 {
		fl = YMM()
		VBROADCASTSS(NewParamAddr("floor", 72), fl)
	}
	ldy := Load(Param("ldy"), GP64())
	SHLQ(U8(2), ldy)
	y := Load(Param("y"), GP64())
	res := Load(Param("res"), GP64())
	TESTQ(res, res)
	JZ(LabelRef("nores"))
	bcastRowsAVX2(acc, y, res, ldy, fl)
	JMP(LabelRef("done"))
	Label("nores")
	bcastRowsAVX2(acc, y, nil, ldy, fl)
	Label("done")
	VZEROUPPER()
	RET()
}

// bcastRowsAVX2 stores the piece's 16 channel rows, four columns at a time
// (adding the residual rows when res is not nil), each clamped at fl, or
// with fl nil at the floor argument broadcast for the row.
func bcastRowsAVX2(acc [][2]reg.VecVirtual, y, res, ldy reg.Register, fl reg.VecVirtual) {
	for c0 := 0; c0 < len(acc); c0 += 4 {
		width := min(4, len(acc)-c0)
		yp := GP64()
		MOVQ(y, yp)
		var rp reg.GPVirtual
		if res != nil {
			rp = GP64()
			MOVQ(res, rp)
		}
		for v := range 2 {
			// Columns past the piece are copies of its first, never stored.
			var cols [4]reg.VecVirtual
			for j := range cols {
				cols[j] = acc[c0][v]
				if j < width {
					cols[j] = acc[c0+j][v]
				}
			}
			rows := transpose4x4(cols)
			// rows[c] holds channel c of this half in its low lane and
			// channel c+4 in its high lane.
			for lane := range 2 {
				for c := range 4 {
					// An xmm instruction zeroes its destination's upper
					// lane, so the low lane's results go to a new register
					// and rows[c] keeps its high lane for later.
					var src reg.Register = rows[c].AsX()
					if lane == 1 {
						src = XMM()
						VEXTRACTF128(U8(1), rows[c], src)
					}
					row := XMM()
					if res != nil {
						r := XMM()
						loadPartial(width, Mem{Base: rp, Disp: 4 * c0}, r)
						VADDPS(r, src, row)
						src = row
					}
					if fl != nil {
						VMAXPS(fl.AsX(), src, row)
					} else {
						f := XMM()
						VBROADCASTSS(NewParamAddr("floor", 72), f)
						VMAXPS(f, src, row)
					}
					storePartial(width, row, Mem{Base: yp, Disp: 4 * c0})
					ADDQ(ldy, yp)
					if res != nil {
						ADDQ(ldy, rp)
					}
				}
			}
		}
	}
}

// transpose4x4 transposes, in each 128-bit lane, the 4x4 matrix whose rows
// are the lanes of cols: row c of the result holds element c of every input,
// in input order. Every result goes to a new register, since inputs may be
// the same register (a piece's unused columns); the allocator reuses the
// inputs' registers once they are dead.
func transpose4x4(cols [4]reg.VecVirtual) [4]reg.VecVirtual {
	lo01, hi01, lo23, hi23 := YMM(), YMM(), YMM(), YMM()
	VUNPCKLPS(cols[1], cols[0], lo01) // a0 b0 a1 b1
	VUNPCKHPS(cols[1], cols[0], hi01) // a2 b2 a3 b3
	VUNPCKLPS(cols[3], cols[2], lo23)
	VUNPCKHPS(cols[3], cols[2], hi23)
	rows := [4]reg.VecVirtual{YMM(), YMM(), YMM(), YMM()}
	VSHUFPS(U8(0x44), lo23, lo01, rows[0]) // a0 b0 c0 d0
	VSHUFPS(U8(0xee), lo23, lo01, rows[1]) // a1 b1 c1 d1
	VSHUFPS(U8(0x44), hi23, hi01, rows[2])
	VSHUFPS(U8(0xee), hi23, hi01, rows[3])
	return rows
}

// loadPartial loads width (1 to 4) floats at m into the low lanes of x,
// zeroing the rest, without reading past them.
func loadPartial(width int, m Mem, x reg.Register) {
	switch width {
	case 4:
		VMOVUPS(m, x)
	case 3:
		VMOVSD(m, x)
		VINSERTPS(U8(0x20), m.Offset(8), x, x)
	case 2:
		VMOVSD(m, x)
	case 1:
		VMOVSS(m, x)
	}
}

// storePartial stores the width (1 to 4) low lanes of x at m, writing
// nothing past them.
func storePartial(width int, x reg.Register, m Mem) {
	switch width {
	case 4:
		VMOVUPS(x, m)
	case 3:
		VMOVSD(x, m)
		VEXTRACTPS(U8(2), x, m.Offset(8))
	case 2:
		VMOVSD(x, m)
	case 1:
		VMOVSS(x, m)
	}
}

// tileAVX2Kernel generates the blocked tile kernel for machines without
// AVX-512, 4 output channels at a time: for each of nv 16-column vectors of
// the AVX-512 tiles it computes a 4-channel x 16-column piece (two ymm) at
// input step 1 or 2. Per tap a piece loads the 16 inputs and broadcasts the
// 4 weights: 8 FMAs for 7 loads, in 11 of the 16 ymm registers. At step 2
// it loads 32 inputs and keeps the even ones (pickAlternate), as the AVX-512
// twins do with one two-table permute. The weights are read in place, tap t's 4 at w +
// t*wstep bytes, so the 8-channel tiles run as two calls (tileAVX2 in
// ../tile_dispatch_amd64.go); the loop over vectors is here, since a piece
// alone is short enough that a call per piece cost a third of its time.
//
// A piece whose 16 columns are all valid stores whole vectors; otherwise its
// 16 bits of masks become two lane masks for masked loads and stores.
func tileAVX2Kernel(stride2 bool, lanebits Mem) {
	name, step := "tile4AVX2", "j"
	if stride2 {
		name, step = "tile4S2AVX2", "2*j"
	}
	TEXT(name, NOSPLIT, "func(nv, taps int, w *float32, wstep int, offs *int, x *float32, masks uint64, y *float32, ldy, ystep int, scale, shift, res *float32, floor float32)")
	Pragma("noescape")
	Doc(
		name+" computes a 4-channel x 16*nv-column output tile; nv, taps >= 1;",
		"res may be nil. It is, in Go:",
		"",
		"\tfor r := range 4 {",
		"\t\tfor j := range 16 * nv {",
		"\t\t\tif masks>>j&1 == 0 {",
		"\t\t\t\tcontinue",
		"\t\t\t}",
		"\t\t\tvar s float32",
		"\t\t\tfor t := range taps {",
		"\t\t\t\ts += w[t*wstep/4+r] * x[offs[t]+"+step+"] // fused multiply-add",
		"\t\t\t}",
		"\t\t\ts = s*scale[r] + shift[r] // fused multiply-add",
		"\t\t\ti := r*ldy + j/16*ystep + j%16",
		"\t\t\tif res != nil {",
		"\t\t\t\ts += res[i]",
		"\t\t\t}",
		"\t\t\ty[i] = max(s, floor) // a NaN becomes floor",
		"\t\t}",
		"\t}",
	)
	nv := Load(Param("nv"), GP64())
	masks := Load(Param("masks"), GP64())
	ystep := Load(Param("ystep"), GP64())
	SHLQ(U8(2), ystep)
	// The current vector's output offset (bytes) and input address.
	off, x := GP64(), Load(Param("x"), GP64())
	XORQ(off, off)

	Label("vec")
	m := GP64()
	MOVQ(masks, m)
	ANDQ(U32(0xffff), m)
	JZ(LabelRef("next"))
	var acc [4][2]reg.VecVirtual
	for r := range acc {
		for v := range 2 {
			acc[r][v] = YMM()
			VXORPS(acc[r][v], acc[r][v], acc[r][v])
		}
	}
	taps := Load(Param("taps"), GP64())
	w := Load(Param("w"), GP64())
	wstep := Load(Param("wstep"), GP64())
	offs := Load(Param("offs"), GP64())
	Label("loop")
	o := GP64()
	MOVQ(Mem{Base: offs}, o)
	x0, x1 := YMM(), YMM()
	if stride2 {
		for v, xv := range []reg.VecVirtual{x0, x1} {
			lo, hi := YMM(), YMM()
			VMOVUPS(Mem{Base: x, Index: o, Scale: 4, Disp: 64 * v}, lo)
			VMOVUPS(Mem{Base: x, Index: o, Scale: 4, Disp: 64*v + 32}, hi)
			pickAlternate(evenFloats, lo, hi, xv)
		}
	} else {
		VMOVUPS(Mem{Base: x, Index: o, Scale: 4}, x0)
		VMOVUPS(Mem{Base: x, Index: o, Scale: 4, Disp: 32}, x1)
	}
	for r := range 4 {
		b := YMM()
		VBROADCASTSS(Mem{Base: w, Disp: 4 * r}, b)
		VFMADD231PS(x0, b, acc[r][0])
		VFMADD231PS(x1, b, acc[r][1])
	}
	ADDQ(wstep, w)
	ADDQ(U32(8), offs)
	DECQ(taps)
	JNZ(LabelRef("loop"))

	scale := Load(Param("scale"), GP64())
	shift := Load(Param("shift"), GP64())
	for r := range 4 {
		s, h := YMM(), YMM()
		VBROADCASTSS(Mem{Base: scale, Disp: 4 * r}, s)
		VBROADCASTSS(Mem{Base: shift, Disp: 4 * r}, h)
		for v := range 2 {
			VFMADD213PS(h, s, acc[r][v])
		}
	}
	fl := YMM()
	VBROADCASTSS(NewParamAddr("floor", 104), fl)
	y := Load(Param("y"), GP64())
	ADDQ(off, y)
	ldy := Load(Param("ldy"), GP64())
	SHLQ(U8(2), ldy)
	res := Load(Param("res"), GP64())
	CMPQ(m, U32(0xffff))
	JNE(LabelRef("partial"))
	TESTQ(res, res)
	JZ(LabelRef("full"))
	ADDQ(off, res)
	tileRowsAVX2(acc, y, res, ldy, fl, nil)
	JMP(LabelRef("next"))
	Label("full")
	tileRowsAVX2(acc, y, nil, ldy, fl, nil)
	JMP(LabelRef("next"))

	// Lane i of the pair of masks is all ones when bit i of m is set.
	Label("partial")
	mx := XMM()
	VMOVQ(m, mx)
	var lanes [2]reg.VecVirtual
	for v := range lanes {
		lanes[v] = YMM()
		VPBROADCASTD(mx, lanes[v])
		VPAND(lanebits.Offset(32*v), lanes[v], lanes[v])
		VPCMPEQD(lanebits.Offset(32*v), lanes[v], lanes[v])
	}
	TESTQ(res, res)
	JZ(LabelRef("partialnores"))
	ADDQ(off, res)
	tileRowsAVX2(acc, y, res, ldy, fl, lanes[:])
	JMP(LabelRef("next"))
	Label("partialnores")
	tileRowsAVX2(acc, y, nil, ldy, fl, lanes[:])

	Label("next")
	SHRQ(U8(16), masks)
	ADDQ(ystep, off)
	if stride2 {
		ADDQ(U32(128), x)
	} else {
		ADDQ(U32(64), x)
	}
	DECQ(nv)
	JNZ(LabelRef("vec"))
	VZEROUPPER()
	RET()
}

// tileRowsAVX2 adds the residual rows when res is not nil, applies the
// floor and stores the 4 rows of a tile piece: whole vectors, or under the
// lane masks when lanes is not nil.
func tileRowsAVX2(acc [4][2]reg.VecVirtual, y, res, ldy reg.Register, fl reg.VecVirtual, lanes []reg.VecVirtual) {
	yp := GP64()
	MOVQ(y, yp)
	var rp reg.GPVirtual
	if res != nil {
		rp = GP64()
		MOVQ(res, rp)
	}
	for r := range 4 {
		for v := range 2 {
			a := YMM()
			if res != nil {
				if lanes != nil {
					t := YMM()
					VMASKMOVPS(Mem{Base: rp, Disp: 32 * v}, lanes[v], t)
					VADDPS(t, acc[r][v], a)
				} else {
					VADDPS(Mem{Base: rp, Disp: 32 * v}, acc[r][v], a)
				}
				VMAXPS(fl, a, a)
			} else {
				VMAXPS(fl, acc[r][v], a)
			}
			if lanes != nil {
				VMASKMOVPS(a, lanes[v], Mem{Base: yp, Disp: 32 * v})
			} else {
				VMOVUPS(a, Mem{Base: yp, Disp: 32 * v})
			}
		}
		if r < 3 {
			ADDQ(ldy, yp)
			if res != nil {
				ADDQ(ldy, rp)
			}
		}
	}
}

// The VSHUFPS selectors of pickAlternate.
const (
	evenFloats = 0x88
	oddFloats  = 0xdd
)

// pickAlternate sets dst to the even (or odd) floats of the 16 in lo, hi, in
// order: a shuffle within 128-bit lanes (lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6)
// and a permute of 64-bit pairs (lo0 lo2 lo4 lo6 hi0 hi2 hi4 hi6).
func pickAlternate(sel uint8, lo, hi, dst reg.VecVirtual) {
	VSHUFPS(U8(sel), hi, lo, dst)
	VPERMPD(U8(0xd8), dst, dst)
}

// split2AVX2Kernel generates split2Rows' AVX2 kernel, which splits rows rows
// at once (a stride-2 layer's phase planes): each 16 floats a step
// (pickAlternate), then the last n mod 16 as the 16 floats from the even
// index (n-16)&^1 again (their evens and odds land where the steps put the
// same values) and, for odd n, the last float; a row under 16 floats a pair
// at a time.
func split2AVX2Kernel() {
	TEXT("split2AVX2", NOSPLIT, "func(even, odd, src *float32, n, rows, pitch, stride int)")
	Pragma("noescape")
	Doc(
		"split2AVX2 writes the even-indexed of the n >= 1 floats of each of rows",
		"rows of src, stride floats apart, to even and the odd-indexed to odd,",
		"pitch floats a row; rows >= 1. It is, in Go:",
		"",
		"\tfor r := range rows {",
		"\t\tfor i := range n {",
		"\t\t\tif i%2 == 0 {",
		"\t\t\t\teven[r*pitch+i/2] = src[r*stride+i]",
		"\t\t\t} else {",
		"\t\t\t\todd[r*pitch+i/2] = src[r*stride+i]",
		"\t\t\t}",
		"\t\t}",
		"\t}",
	)
	even := Load(Param("even"), GP64())
	odd := Load(Param("odd"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	rows := Load(Param("rows"), GP64())
	pitch := Load(Param("pitch"), GP64())
	SHLQ(U8(2), pitch)
	stride := Load(Param("stride"), GP64())
	SHLQ(U8(2), stride)
	block := func(s, e, o reg.Register) {
		a, b, ev, od := YMM(), YMM(), YMM(), YMM()
		VMOVUPS(Mem{Base: s}, a)
		VMOVUPS(Mem{Base: s, Disp: 32}, b)
		pickAlternate(evenFloats, a, b, ev)
		pickAlternate(oddFloats, a, b, od)
		VMOVUPS(ev, Mem{Base: e})
		VMOVUPS(od, Mem{Base: o})
	}
	s, e, o, count := GP64(), GP64(), GP64(), GP64()
	t := GP32()

	Label("row")
	MOVQ(src, s)
	MOVQ(even, e)
	MOVQ(odd, o)
	CMPQ(n, U8(16))
	JB(LabelRef("pairs"))
	MOVQ(n, count)
	SHRQ(U8(4), count)
	Label("loop")
	block(s, e, o)
	ADDQ(U32(64), s)
	ADDQ(U32(32), e)
	ADDQ(U32(32), o)
	DECQ(count)
	JNZ(LabelRef("loop"))
	TESTQ(U32(15), n)
	JZ(LabelRef("next"))
	// The last block: floats from (n-16)&^1 in src, half that out.
	LEAQ(Mem{Base: n, Disp: -16}, count)
	ANDQ(I32(-2), count)
	LEAQ(Mem{Base: src, Index: count, Scale: 4}, s)
	SHRQ(U8(1), count)
	LEAQ(Mem{Base: even, Index: count, Scale: 4}, e)
	LEAQ(Mem{Base: odd, Index: count, Scale: 4}, o)
	block(s, e, o)
	JMP(LabelRef("last"))

	Label("pairs")
	MOVQ(n, count)
	SHRQ(U8(1), count)
	JZ(LabelRef("last"))
	Label("pair")
	MOVL(Mem{Base: s}, t)
	MOVL(t, Mem{Base: e})
	MOVL(Mem{Base: s, Disp: 4}, t)
	MOVL(t, Mem{Base: o})
	ADDQ(U8(8), s)
	ADDQ(U8(4), e)
	ADDQ(U8(4), o)
	DECQ(count)
	JNZ(LabelRef("pair"))

	// For odd n, the last float, even-indexed, which the blocks stop short of.
	Label("last")
	TESTQ(U32(1), n)
	JZ(LabelRef("next"))
	LEAQ(Mem{Base: n, Disp: -1}, count)
	MOVL(Mem{Base: src, Index: count, Scale: 4}, t)
	SHRQ(U8(1), count)
	MOVL(t, Mem{Base: even, Index: count, Scale: 4})
	Label("next")
	ADDQ(stride, src)
	ADDQ(pitch, even)
	ADDQ(pitch, odd)
	DECQ(rows)
	JNZ(LabelRef("row"))
	VZEROUPPER()
	RET()
}
