package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The batch-norm kernels work on one contiguous plane (an image's channel)
// in whole vectors (16 floats with AVX-512, 8 with AVX2); the Go caller runs
// the scalar loop on the rest.
// Sums are kept in float64 as the Go loops keep them; the float32
// arithmetic does what the Go expression does, operation by operation, so
// that the results are those of the reference loops.

// isa is the vector width the kernels are generated for.
type isa struct {
	name  string                // the functions' suffix
	lanes int                   // floats a vector
	vec   func() reg.VecVirtual // a vector of floats
	// half holds half a vector of floats, which convert to a vector of
	// float64 (VCVTPS2PD).
	half func() reg.VecVirtual
}

var (
	avx512 = isa{"AVX512", 16, ZMM, YMM}
	avx2   = isa{"AVX2", 8, YMM, XMM}
)

func (i isa) bytes() int { return 4 * i.lanes }

// shift is log2(lanes), to count a plane's whole vectors.
func (i isa) shift() uint8 {
	if i.lanes == 16 {
		return 4
	}
	return 3
}

// zero clears v (VXORPS on zmm would need AVX512DQ).
func (i isa) zero(v reg.VecVirtual) {
	if i.lanes == 16 {
		VPXORD(v, v, v)
	} else {
		VXORPS(v, v, v)
	}
}

// upper returns the upper half of v in a new register.
func (i isa) upper(v reg.VecVirtual) reg.VecVirtual {
	h := i.half()
	if i.lanes == 16 {
		VEXTRACTF64X4(U8(1), v, h)
	} else {
		VEXTRACTF128(U8(1), v, h)
	}
	return h
}

// lower is the lower half of v, the same register.
func (i isa) lower(v reg.VecVirtual) reg.Register {
	if i.lanes == 16 {
		return v.AsY()
	}
	return v.AsX()
}

// sumF64 generates the float64 sum of a plane.
func sumF64(i isa) {
	TEXT("sumF64"+i.name, NOSPLIT, "func(x *float32, n int) float64")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("sumF64%s returns the float64 sum of x[:n], n a multiple of %d:", i.name, i.lanes),
		"",
		"\tfor _, v := range x[:n] {",
		"\t\tsum += float64(v)",
		"\t}",
	)
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	planeSumF64(i, "sum", x, n, func(v, acc reg.VecVirtual) { VADDPD(v, acc, acc) })
}

// sqDevF64 generates the float64 sum of squared deviations from m.
func sqDevF64(i isa) {
	TEXT("sqDevF64"+i.name, NOSPLIT, "func(x *float32, n int, m float64) float64")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("sqDevF64%s returns the float64 sum of (x[i]-m)^2 over x[:n], n a", i.name),
		fmt.Sprintf("multiple of %d:", i.lanes),
		"",
		"\tfor _, v := range x[:n] {",
		"\t\td := float64(v) - m",
		"\t\tsq += d * d",
		"\t}",
	)
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	m := i.vec()
	broadcastD("m", m)
	planeSumF64(i, "sq", x, n, func(v, acc reg.VecVirtual) {
		VSUBPD(m, v, v)
		VFMADD231PD(v, v, acc)
	})
}

// planeSumF64 emits the rest of a function returning a float64 sum over the
// n (a multiple of the lanes) floats at x: each is converted to float64 and
// folded into one of two accumulators by add, which then are summed and
// returned.
func planeSumF64(i isa, name string, x, n reg.Register, add func(v, acc reg.VecVirtual)) {
	acc := [2]reg.VecVirtual{i.vec(), i.vec()}
	for _, a := range acc {
		i.zero(a)
	}
	SHRQ(U8(i.shift()), n)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	for h, a := range acc {
		v := i.vec()
		VCVTPS2PD(Mem{Base: x, Disp: i.bytes() / 2 * h}, v)
		add(v, a)
	}
	ADDQ(U32(i.bytes()), x)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
	VADDPD(acc[1], acc[0], acc[0])
	storeReturn(reduceF64(i, acc[0]))
	VZEROUPPER()
	RET()
}

// bnApply generates the forward normalisation of a plane.
func bnApply(i isa) {
	TEXT("bnApply"+i.name, NOSPLIT, "func(y, x *float32, n int, m, s, b float32, relu bool)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("bnApply%s sets y[i] = (x[i]-m)*s + b over x[:n], n a multiple of %d,", i.name, i.lanes),
		"then max(y[i], 0) with relu; y may be x. In Go:",
		"",
		"\tfor i, v := range x[:n] {",
		"\t\ty[i] = (v-m)*s + b // max(..., 0) with relu",
		"\t}",
	)
	y := Load(Param("y"), GP64())
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	m, s, b, zero := i.vec(), i.vec(), i.vec(), i.vec()
	broadcastS("m", m)
	broadcastS("s", s)
	broadcastS("b", b)
	i.zero(zero)
	relu := Load(Param("relu"), GP8())
	SHRQ(U8(i.shift()), n)
	JZ(LabelRef("apply_done"))
	TESTB(relu, relu)
	twoLoops("apply", "relu", n, func(clamp bool) {
		v := i.vec()
		VMOVUPS(Mem{Base: x}, v)
		VSUBPS(m, v, v)
		VMULPS(s, v, v)
		VADDPS(b, v, v)
		if clamp {
			// VMAXPS returns its second source when either is NaN or both
			// are zeros, so a NaN stays and -0 comes out; adding +0 makes
			// that +0, as Go's max does.
			VMAXPS(v, zero, v)
			VADDPS(zero, v, v)
		}
		VMOVUPS(v, Mem{Base: y})
		ADDQ(U32(i.bytes()), x)
		ADDQ(U32(i.bytes()), y)
	})
	VZEROUPPER()
	RET()
}

// bnBackwardSums generates the two sums of the backward pass.
func bnBackwardSums(i isa) {
	TEXT("bnBackwardSums"+i.name, NOSPLIT, "func(dy, x, y *float32, n int, m float64, sums *[2]float64)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("bnBackwardSums%s adds to sums[0] the float64 sum of d and to sums[1]", i.name),
		fmt.Sprintf("that of d*(x[i]-m) over [0, n), n a multiple of %d, where d is dy[i], or", i.lanes),
		"0 where y is set and y[i] is not positive (a ReLU's output). In Go:",
		"",
		"\tfor i, d := range dy[:n] {",
		"\t\tif y != nil && !(y[i] > 0) {",
		"\t\t\td = 0",
		"\t\t}",
		"\t\tsums[0] += float64(d)",
		"\t\tsums[1] += float64(d) * (float64(x[i]) - m)",
		"\t}",
	)
	dy := Load(Param("dy"), GP64())
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	m, zero := i.vec(), i.vec()
	broadcastD("m", m)
	i.zero(zero)
	sdy := [2]reg.VecVirtual{i.vec(), i.vec()}
	sdyx := [2]reg.VecVirtual{i.vec(), i.vec()}
	for _, a := range append(sdy[:], sdyx[:]...) {
		i.zero(a)
	}
	SHRQ(U8(i.shift()), n)
	JZ(LabelRef("sums_done"))
	body := func(masked bool) {
		d := loadGradient(i, dy, y, zero, masked)
		for h := range 2 {
			half := i.lower(d)
			if h == 1 {
				half = i.upper(d)
			}
			dd, xx := i.vec(), i.vec()
			VCVTPS2PD(half, dd)
			VCVTPS2PD(Mem{Base: x, Disp: i.bytes() / 2 * h}, xx)
			VSUBPD(m, xx, xx)
			VADDPD(dd, sdy[h], sdy[h])
			VFMADD231PD(xx, dd, sdyx[h])
		}
		ADDQ(U32(i.bytes()), dy)
		ADDQ(U32(i.bytes()), x)
	}
	TESTQ(y, y)
	twoLoops("sums", "masked", n, body)
	p := Load(Param("sums"), GP64())
	VADDPD(sdy[1], sdy[0], sdy[0])
	VADDPD(sdyx[1], sdyx[0], sdyx[0])
	a, c := reduceF64(i, sdy[0]), reduceF64(i, sdyx[0])
	VADDSD(Mem{Base: p}, a, a)
	VADDSD(Mem{Base: p, Disp: 8}, c, c)
	VMOVSD(a, Mem{Base: p})
	VMOVSD(c, Mem{Base: p, Disp: 8})
	VZEROUPPER()
	RET()
}

// bnBackwardApply generates the input gradient of a plane.
func bnBackwardApply(i isa) {
	TEXT("bnBackwardApply"+i.name, NOSPLIT, "func(dx, dy, x, y *float32, n int, k, a, b, m float32)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("bnBackwardApply%s sets dx[i] = k*d + a*(x[i]-m) + b over [0, n), n a", i.name),
		fmt.Sprintf("multiple of %d, with d as in bnBackwardSums%s. In Go:", i.lanes, i.name),
		"",
		"\tfor i, d := range dy[:n] {",
		"\t\tif y != nil && !(y[i] > 0) {",
		"\t\t\td = 0",
		"\t\t}",
		"\t\tdx[i] = k*d + a*(x[i]-m) + b",
		"\t}",
	)
	dx := Load(Param("dx"), GP64())
	dy := Load(Param("dy"), GP64())
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	kv, av, bv, mv, zero := i.vec(), i.vec(), i.vec(), i.vec(), i.vec()
	broadcastS("k", kv)
	broadcastS("a", av)
	broadcastS("b", bv)
	broadcastS("m", mv)
	i.zero(zero)
	SHRQ(U8(i.shift()), n)
	JZ(LabelRef("dx_done"))
	body := func(masked bool) {
		d, t := loadGradient(i, dy, y, zero, masked), i.vec()
		VMULPS(kv, d, d)
		VMOVUPS(Mem{Base: x}, t)
		VSUBPS(mv, t, t)
		VMULPS(av, t, t)
		VADDPS(t, d, d)
		VADDPS(bv, d, d)
		VMOVUPS(d, Mem{Base: dx})
		ADDQ(U32(i.bytes()), dx)
		ADDQ(U32(i.bytes()), dy)
		ADDQ(U32(i.bytes()), x)
	}
	TESTQ(y, y)
	twoLoops("dx", "masked", n, body)
	VZEROUPPER()
	RET()
}

// loadGradient loads a vector of dy, with masked those where y is not
// positive (a ReLU's output; NaN too) zeroed, and steps y on.
func loadGradient(i isa, dy, y reg.Register, zero reg.VecVirtual, masked bool) reg.VecVirtual {
	d := i.vec()
	if !masked {
		VMOVUPS(Mem{Base: dy}, d)
		return d
	}
	if i.lanes == 16 {
		k := K()
		VCMPPS(U8(0x11), Mem{Base: y}, zero, k) // 0 < y, false for NaN
		VMOVUPS_Z(Mem{Base: dy}, k, d)
	} else {
		VCMPPS(U8(0x11), Mem{Base: y}, zero, d) // all ones where 0 < y
		VANDPS(Mem{Base: dy}, d, d)
	}
	ADDQ(U32(i.bytes()), y)
	return d
}

// twoLoops emits two loops of n iterations, of body(false) and of
// body(true), entered by the flags of the test just made (the second, named
// name_alt, when they say not zero); both end at label name_done.
func twoLoops(name, alt string, n reg.Register, body func(alt bool)) {
	JNZ(LabelRef(name + "_" + alt))
	Label(name + "_plain")
	body(false)
	DECQ(n)
	JNZ(LabelRef(name + "_plain"))
	JMP(LabelRef(name + "_done"))
	Label(name + "_" + alt)
	body(true)
	DECQ(n)
	JNZ(LabelRef(name + "_" + alt))
	Label(name + "_done")
}

// reduceF64 returns, in the low lane of an XMM register, the sum of the
// float64 lanes of z.
func reduceF64(i isa, z reg.VecVirtual) reg.Register {
	lo := z.AsY()
	if i.lanes == 16 {
		hi := YMM()
		VEXTRACTF64X4(U8(1), z, hi)
		VADDPD(hi, lo, lo)
	}
	h2 := XMM()
	VEXTRACTF128(U8(1), lo, h2)
	l2 := z.AsX()
	VADDPD(h2, l2, l2)
	h1 := XMM()
	VUNPCKHPD(l2, l2, h1)
	VADDSD(h1, l2, l2)
	return l2
}

// broadcastS fills v with the float32 parameter name, read from memory.
func broadcastS(name string, v reg.VecVirtual) {
	VBROADCASTSS(paramAddr(name), v)
}

// broadcastD fills v with the float64 parameter name, read from memory.
func broadcastD(name string, v reg.VecVirtual) {
	VBROADCASTSD(paramAddr(name), v)
}

func paramAddr(name string) Mem {
	p, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return p.Addr
}

// storeReturn writes the low float64 of x to the function's result with a
// VEX instruction: an SSE store after zmm work costs a state switch on
// Intel CPUs.
func storeReturn(x reg.Register) {
	r, err := ReturnIndex(0).Resolve()
	if err != nil {
		panic(err)
	}
	VMOVSD(x, r.Addr)
}
