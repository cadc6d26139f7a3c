// Package jpegdsp holds the sample stages of JPEG decoding, bit-exact with
// libjpeg-turbo: the islow inverse DCT (and the reduced-size IDCTs of its
// scaled decoding), the "fancy" triangle-filter chroma upsampling and the
// YCbCr -> RGB conversion. Each stage has a Go definition, always compiled
// and the reference the tests hold the assembly to, and AVX2 and AVX-512
// kernels generated with avo (see _asm), chosen once from the CPU's features;
// the purego build tag leaves only the Go code.
package jpegdsp

// The islow IDCT (libjpeg's jidctint.c algorithm: Loeffler-Ligtenberg-
// Moschytz with 13-bit constants, 2 extra bits between the passes).
const (
	constBits      = 13
	pass1Bits      = 2
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

// idct1D is one 8-point inverse DCT; it returns the eight outputs before the
// final descaling. All arithmetic wraps in int32, as the kernels' does.
func idct1D(x0, x1, x2, x3, x4, x5, x6, x7 int32) (o [8]int32) {
	z1 := (x2 + x6) * fix0_541196100
	t2 := z1 - x6*fix1_847759065
	t3 := z1 + x2*fix0_765366865
	t0 := (x0 + x4) << constBits
	t1 := (x0 - x4) << constBits
	t10, t13 := t0+t3, t0-t3
	t11, t12 := t1+t2, t1-t2

	a0, a1, a2, a3 := x7, x5, x3, x1
	z1 = a0 + a3
	z2 := a1 + a2
	z3 := a0 + a2
	z4 := a1 + a3
	z5 := (z3 + z4) * fix1_175875602
	a0 *= fix0_298631336
	a1 *= fix2_053119869
	a2 *= fix3_072711026
	a3 *= fix1_501321110
	z1 *= -fix0_899976223
	z2 *= -fix2_562915447
	z3 = z3*-fix1_961570560 + z5
	z4 = z4*-fix0_390180644 + z5
	a0 += z1 + z3
	a1 += z2 + z4
	a2 += z2 + z3
	a3 += z1 + z4
	return [8]int32{t10 + a3, t11 + a2, t12 + a1, t13 + a0, t13 - a0, t12 - a1, t11 - a2, t10 - a3}
}

func descale(x int32, n uint) int32 { return (x + 1<<(n-1)) >> n }

// clamp8 is libjpeg's range limit for valid input: v clamped to 0..255.
func clamp8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// idctGeneric transforms one block, dequantised by q, into 8x8 samples at
// dst (rows stride apart). A column or row whose AC terms are all zero takes
// libjpeg's shortcut (the transform of a constant is that constant).
func idctGeneric(dst []uint8, stride int, blk *[64]int16, q *[64]uint16) {
	var ws [64]int32
	for c := range 8 {
		var x [8]int32
		ac := int16(0)
		for r := range 8 {
			x[r] = int32(blk[8*r+c]) * int32(q[8*r+c])
			if r > 0 {
				ac |= blk[8*r+c]
			}
		}
		if ac == 0 {
			v := x[0] << pass1Bits
			for r := range 8 {
				ws[8*r+c] = v
			}
			continue
		}
		o := idct1D(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7])
		for r := range 8 {
			ws[8*r+c] = descale(o[r], constBits-pass1Bits)
		}
	}
	for r := range 8 {
		w := ws[8*r : 8*r+8]
		row := dst[r*stride : r*stride+8]
		if w[1]|w[2]|w[3]|w[4]|w[5]|w[6]|w[7] == 0 {
			v := clamp8(descale(w[0], pass1Bits+3) + 128)
			for i := range row {
				row[i] = v
			}
			continue
		}
		o := idct1D(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7])
		for i := range 8 {
			row[i] = clamp8(descale(o[i], constBits+pass1Bits+3) + 128)
		}
	}
}

// FillDC writes the 8x8 samples of a block whose AC coefficients are all
// zero, which is what the IDCT makes of it.
func FillDC(dst []uint8, stride int, dc int16, q0 uint16) {
	v := clamp8(descale(int32(dc)*int32(q0)<<pass1Bits, pass1Bits+3) + 128)
	for r := range 8 {
		row := dst[r*stride : r*stride+8]
		for i := range row {
			row[i] = v
		}
	}
}

// Constants of the reduced-size IDCTs (libjpeg's jidctred.c).
const (
	fix0_211164243 = 1730
	fix0_509795579 = 4176
	fix0_601344887 = 4926
	fix0_720959822 = 5906
	fix0_850430095 = 6967
	fix1_061594337 = 8697
	fix1_272758580 = 10426
	fix1_451774981 = 11893
	fix2_172734803 = 17799
	fix3_624509785 = 29692
)

// IDCT4 is libjpeg's 4x4 IDCT for 1/2-scale decoding: the block's 8x8
// coefficients make 4x4 samples. Row and column 4 do not contribute.
func IDCT4(dst []uint8, stride int, blk *[64]int16, q *[64]uint16) {
	var ws [32]int32 // 4 rows of 8 columns
	odd := func(z1, z2, z3, z4 int32) (int32, int32) {
		return z1*-fix0_211164243 + z2*fix1_451774981 + z3*-fix2_172734803 + z4*fix1_061594337,
			z1*-fix0_509795579 + z2*-fix0_601344887 + z3*fix0_899976223 + z4*fix2_562915447
	}
	for c := range 8 {
		if c == 4 {
			continue
		}
		x := func(r int) int32 { return int32(blk[8*r+c]) * int32(q[8*r+c]) }
		if blk[8+c]|blk[16+c]|blk[24+c]|blk[40+c]|blk[48+c]|blk[56+c] == 0 {
			v := x(0) << pass1Bits
			ws[c], ws[8+c], ws[16+c], ws[24+c] = v, v, v, v
			continue
		}
		t0 := x(0) << (constBits + 1)
		t2 := x(2)*fix1_847759065 + x(6)*-fix0_765366865
		t10, t12 := t0+t2, t0-t2
		o0, o2 := odd(x(7), x(5), x(3), x(1))
		const sh = constBits - pass1Bits + 1
		ws[c], ws[24+c] = descale(t10+o2, sh), descale(t10-o2, sh)
		ws[8+c], ws[16+c] = descale(t12+o0, sh), descale(t12-o0, sh)
	}
	for r := range 4 {
		w := ws[8*r : 8*r+8]
		row := dst[r*stride : r*stride+4]
		if w[1]|w[2]|w[3]|w[5]|w[6]|w[7] == 0 {
			v := clamp8(descale(w[0], pass1Bits+3) + 128)
			row[0], row[1], row[2], row[3] = v, v, v, v
			continue
		}
		t0 := w[0] << (constBits + 1)
		t2 := w[2]*fix1_847759065 + w[6]*-fix0_765366865
		t10, t12 := t0+t2, t0-t2
		o0, o2 := odd(w[7], w[5], w[3], w[1])
		const sh = constBits + pass1Bits + 3 + 1
		row[0], row[3] = clamp8(descale(t10+o2, sh)+128), clamp8(descale(t10-o2, sh)+128)
		row[1], row[2] = clamp8(descale(t12+o0, sh)+128), clamp8(descale(t12-o0, sh)+128)
	}
}

// IDCT2 is libjpeg's 2x2 IDCT for 1/4-scale decoding; only the odd rows and
// columns (and the DC) contribute.
func IDCT2(dst []uint8, stride int, blk *[64]int16, q *[64]uint16) {
	var ws [16]int32 // 2 rows of 8 columns
	odd := func(z7, z5, z3, z1 int32) int32 {
		return z7*-fix0_720959822 + z5*fix0_850430095 + z3*-fix1_272758580 + z1*fix3_624509785
	}
	for c := range 8 {
		if c == 2 || c == 4 || c == 6 {
			continue
		}
		x := func(r int) int32 { return int32(blk[8*r+c]) * int32(q[8*r+c]) }
		if blk[8+c]|blk[24+c]|blk[40+c]|blk[56+c] == 0 {
			v := x(0) << pass1Bits
			ws[c], ws[8+c] = v, v
			continue
		}
		t10 := x(0) << (constBits + 2)
		t0 := odd(x(7), x(5), x(3), x(1))
		const sh = constBits - pass1Bits + 2
		ws[c], ws[8+c] = descale(t10+t0, sh), descale(t10-t0, sh)
	}
	for r := range 2 {
		w := ws[8*r : 8*r+8]
		row := dst[r*stride : r*stride+2]
		if w[1]|w[3]|w[5]|w[7] == 0 {
			v := clamp8(descale(w[0], pass1Bits+3) + 128)
			row[0], row[1] = v, v
			continue
		}
		t10 := w[0] << (constBits + 2)
		t0 := odd(w[7], w[5], w[3], w[1])
		const sh = constBits + pass1Bits + 3 + 2
		row[0], row[1] = clamp8(descale(t10+t0, sh)+128), clamp8(descale(t10-t0, sh)+128)
	}
}

// IDCT1 is the 1x1 "IDCT" of 1/8-scale decoding: the block's mean.
func IDCT1(dst []uint8, blk *[64]int16, q *[64]uint16) {
	dst[0] = clamp8(descale(int32(blk[0])*int32(q[0]), 3) + 128)
}
