//go:build !purego

#include "textflag.h"

// NEON row transforms for arm64, four columns a step (see rows.go for the
// definitions). Written by hand: avo does not target arm64. The Go
// assembler has no FMLA/FMLS by element and no vector FADD/FSUB, so those
// are WORDs built from register numbers by the macros below.

// FMLAE(d, n, m, i) is FMLA Vd.4S, Vn.4S, Vm.S[i]: Vd += Vn * lane i of Vm.
#define FMLAE(d, n, m, i) WORD $(0x4F801000 | (((i)&1)<<21) | ((m)<<16) | (((i)>>1)<<11) | ((n)<<5) | (d))

// FMLSE(d, n, m, i) is FMLS Vd.4S, Vn.4S, Vm.S[i]: Vd -= Vn * lane i of Vm.
#define FMLSE(d, n, m, i) WORD $(0x4F805000 | (((i)&1)<<21) | ((m)<<16) | (((i)>>1)<<11) | ((n)<<5) | (d))

// FADD4(d, n, m) is FADD Vd.4S, Vn.4S, Vm.4S; FSUB4(d, n, m) is FSUB Vd.4S, Vn.4S, Vm.4S.
#define FADD4(d, n, m) WORD $(0x4E20D400 | ((m)<<16) | ((n)<<5) | (d))
#define FSUB4(d, n, m) WORD $(0x4EA0D400 | ((m)<<16) | ((n)<<5) | (d))

// The factors of the transforms, lanes 0-3 of V30.
#define K4 0
#define K5 1
#define K2 2
#define K8 3

DATA factors<>+0(SB)/4, $(4.0)
DATA factors<>+4(SB)/4, $(5.0)
DATA factors<>+8(SB)/4, $(2.0)
DATA factors<>+12(SB)/4, $(8.0)
GLOBL factors<>(SB), RODATA|NOPTR, $16

// ROWS_ARGS loads the arguments: R5-R10 point to the six input rows, R11-R14
// to the first four output rows (R3 is the output stride in bytes), R4 is n,
// V30 holds the factors.
#define ROWS_ARGS \
	MOVD in+0(FP), R5 \
	MOVD inStride+8(FP), R1 \
	MOVD out+16(FP), R11 \
	MOVD outStride+24(FP), R3 \
	MOVD n+32(FP), R4 \
	LSL  $2, R1, R1 \
	LSL  $2, R3, R3 \
	ADD  R1, R5, R6 \
	ADD  R1, R6, R7 \
	ADD  R1, R7, R8 \
	ADD  R1, R8, R9 \
	ADD  R1, R9, R10 \
	ADD  R3, R11, R12 \
	ADD  R3, R12, R13 \
	ADD  R3, R13, R14 \
	MOVD $factors<>(SB), R20 \
	VLD1 (R20), [V30.S4]

// LOAD_ROWS loads the next four columns of the six input rows into V0-V5.
#define LOAD_ROWS \
	VLD1.P 16(R5), [V0.S4] \
	VLD1.P 16(R6), [V1.S4] \
	VLD1.P 16(R7), [V2.S4] \
	VLD1.P 16(R8), [V3.S4] \
	VLD1.P 16(R9), [V4.S4] \
	VLD1.P 16(R10), [V5.S4]

// func inputRowsNEON(in *float32, inStride int, out *float32, outStride int, n int)
// n is a positive multiple of 4. Rows d0-d5 are V0-V5; outputs go to six
// rows that R11-R15 and R19 walk.
TEXT ·inputRowsNEON(SB), NOSPLIT, $0-40
	ROWS_ARGS
	ADD  R3, R14, R15
	ADD  R3, R15, R19

inloop:
	LOAD_ROWS

	// out0 = (d4 + 4*d0) - 5*d2
	VMOV V4.B16, V6.B16
	FMLAE(6, 0, 30, K4)
	FMLSE(6, 2, 30, K5)

	// a = d1 + d2, b = d1 - d2; out1 = (d3 + d4) - 4*a, out2 = (d4 - d3) + 4*b
	FADD4(7, 1, 2)
	FSUB4(8, 1, 2)
	FADD4(9, 3, 4)
	FMLSE(9, 7, 30, K4)
	FSUB4(10, 4, 3)
	FMLAE(10, 8, 30, K4)

	// c = d4 - d2, e = d3 - d1; out3 = c + 2*e, out4 = c - 2*e
	FSUB4(11, 4, 2)
	FSUB4(12, 3, 1)
	VMOV V11.B16, V13.B16
	FMLAE(13, 12, 30, K2)
	FMLSE(11, 12, 30, K2)

	// out5 = (d5 + 4*d1) - 5*d3
	VMOV V5.B16, V14.B16
	FMLAE(14, 1, 30, K4)
	FMLSE(14, 3, 30, K5)

	VST1.P [V6.S4], 16(R11)
	VST1.P [V9.S4], 16(R12)
	VST1.P [V10.S4], 16(R13)
	VST1.P [V13.S4], 16(R14)
	VST1.P [V11.S4], 16(R15)
	VST1.P [V14.S4], 16(R19)
	SUBS   $4, R4, R4
	BNE    inloop
	RET

// func outputRowsNEON(in *float32, inStride int, out *float32, outStride int, n int)
// n is a positive multiple of 4. Rows m0-m5 are V0-V5; outputs go to four
// rows that R11-R14 walk.
TEXT ·outputRowsNEON(SB), NOSPLIT, $0-40
	ROWS_ARGS

outloop:
	LOAD_ROWS

	// sp = m1 + m2, sm = m1 - m2, dp = m3 + m4, dm = m3 - m4
	FADD4(6, 1, 2)
	FSUB4(7, 1, 2)
	FADD4(8, 3, 4)
	FSUB4(9, 3, 4)

	// out0 = (m0 + sp) + dp
	FADD4(10, 0, 6)
	FADD4(10, 10, 8)

	// out1 = sm + 2*dm
	VMOV V7.B16, V11.B16
	FMLAE(11, 9, 30, K2)

	// out2 = sp + 4*dp
	FMLAE(6, 8, 30, K4)

	// out3 = (sm + 8*dm) + m5
	FMLAE(7, 9, 30, K8)
	FADD4(7, 7, 5)

	VST1.P [V10.S4], 16(R11)
	VST1.P [V11.S4], 16(R12)
	VST1.P [V6.S4], 16(R13)
	VST1.P [V7.S4], 16(R14)
	SUBS   $4, R4, R4
	BNE    outloop
	RET
