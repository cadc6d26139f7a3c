//go:build !purego

#include "textflag.h"

// NEON micro-kernels for arm64 (see micro_generic.go for the definition and
// micro_arm64.go for the contract). Written by hand: avo does not target
// arm64. The Go assembler has no FMLA by element, no vector FADD and no FCMGT,
// so those are WORDs built by the macros below from register numbers.

// FMLAE(d, n, m, i) is FMLA Vd.4S, Vn.4S, Vm.S[i]: Vd += Vn * lane i of Vm.
#define FMLAE(d, n, m, i) WORD $(0x4F801000 | (((i)&1)<<21) | ((m)<<16) | (((i)>>1)<<11) | ((n)<<5) | (d))

// FADD4(d, n, m) is FADD Vd.4S, Vn.4S, Vm.4S.
#define FADD4(d, n, m) WORD $(0x4E20D400 | ((m)<<16) | ((n)<<5) | (d))

// FCMGTZ(d, n) is FCMGT Vd.4S, Vn.4S, #0.0: all ones where Vn > 0, else zero (NaN too).
#define FCMGTZ(d, n) WORD $(0x4EA0C800 | ((n)<<5) | (d))

// One k step of one row r of C held in accumulators acc, acc+1, ...: the row's
// element of A is lane i of register a, B's vectors are V2, V3 and V4.
#define ROW12(acc, a, i) FMLAE(acc, 2, a, i); FMLAE((acc)+1, 3, a, i); FMLAE((acc)+2, 4, a, i)
#define ROW8(acc, a, i) FMLAE(acc, 2, a, i); FMLAE((acc)+1, 3, a, i)
#define ROW4(acc, a, i) FMLAE(acc, 2, a, i)

// The kernels share a register plan: R0 counts k down, R1 walks the packed A
// panel (8 floats a step: V0 holds rows 0-3, V1 rows 4-7), R2 walks B (R3 =
// ldb in bytes), R4 is C (R5 = ldc in bytes), R6 says accumulate. The
// accumulators start as C's tile when accumulating and as zero otherwise.

// KERNEL_ARGS loads the kernels' arguments into the registers below, the
// strides in bytes.
#define KERNEL_ARGS \
	MOVD  kc+0(FP), R0 \
	MOVD  a+8(FP), R1 \
	MOVD  b+16(FP), R2 \
	MOVD  ldb+24(FP), R3 \
	MOVD  c+32(FP), R4 \
	MOVD  ldc+40(FP), R5 \
	MOVBU accumulate+48(FP), R6 \
	LSL   $2, R3, R3 \
	LSL   $2, R5, R5

// CROWn loads a row of C into n accumulators and steps R7 to the next row;
// SROWn stores n accumulators to a row of C and steps R4 to the next row.
#define CROW3(a, b, c) VLD1 (R7), [a.S4, b.S4, c.S4]; ADD R5, R7, R7
#define CROW2(a, b) VLD1 (R7), [a.S4, b.S4]; ADD R5, R7, R7
#define CROW1(a) VLD1 (R7), [a.S4]; ADD R5, R7, R7
#define SROW3(a, b, c) VST1 [a.S4, b.S4, c.S4], (R4); ADD R5, R4, R4
#define SROW2(a, b) VST1 [a.S4, b.S4], (R4); ADD R5, R4, R4
#define SROW1(a) VST1 [a.S4], (R4); ADD R5, R4, R4

// ZERO8 zeroes eight vector registers.
#define VZERO(r) VEOR r.B16, r.B16, r.B16
#define ZERO8(a, b, c, d, e, f, g, h) VZERO(a); VZERO(b); VZERO(c); VZERO(d); VZERO(e); VZERO(f); VZERO(g); VZERO(h)

// func kernel8x12NEON(kc int, a *float32, b *float32, ldb int, c *float32, ldc int, accumulate bool)
TEXT ·kernel8x12NEON(SB), NOSPLIT, $0-49
	KERNEL_ARGS
	CBZ   R6, zero12
	MOVD  R4, R7
	CROW3(V8, V9, V10)
	CROW3(V11, V12, V13)
	CROW3(V14, V15, V16)
	CROW3(V17, V18, V19)
	CROW3(V20, V21, V22)
	CROW3(V23, V24, V25)
	CROW3(V26, V27, V28)
	CROW3(V29, V30, V31)
	B     loop12

zero12:
	ZERO8(V8, V9, V10, V11, V12, V13, V14, V15)
	ZERO8(V16, V17, V18, V19, V20, V21, V22, V23)
	ZERO8(V24, V25, V26, V27, V28, V29, V30, V31)

loop12:
	VLD1.P 32(R1), [V0.S4, V1.S4]
	VLD1   (R2), [V2.S4, V3.S4, V4.S4]
	ADD    R3, R2, R2
	ROW12(8, 0, 0)
	ROW12(11, 0, 1)
	ROW12(14, 0, 2)
	ROW12(17, 0, 3)
	ROW12(20, 1, 0)
	ROW12(23, 1, 1)
	ROW12(26, 1, 2)
	ROW12(29, 1, 3)
	SUBS   $1, R0, R0
	BNE    loop12

	SROW3(V8, V9, V10)
	SROW3(V11, V12, V13)
	SROW3(V14, V15, V16)
	SROW3(V17, V18, V19)
	SROW3(V20, V21, V22)
	SROW3(V23, V24, V25)
	SROW3(V26, V27, V28)
	SROW3(V29, V30, V31)
	RET

// func kernel8x8NEON(kc int, a *float32, b *float32, ldb int, c *float32, ldc int, accumulate bool)
TEXT ·kernel8x8NEON(SB), NOSPLIT, $0-49
	KERNEL_ARGS
	CBZ   R6, zero8
	MOVD  R4, R7
	CROW2(V16, V17)
	CROW2(V18, V19)
	CROW2(V20, V21)
	CROW2(V22, V23)
	CROW2(V24, V25)
	CROW2(V26, V27)
	CROW2(V28, V29)
	CROW2(V30, V31)
	B     loop8

zero8:
	ZERO8(V16, V17, V18, V19, V20, V21, V22, V23)
	ZERO8(V24, V25, V26, V27, V28, V29, V30, V31)

loop8:
	VLD1.P 32(R1), [V0.S4, V1.S4]
	VLD1   (R2), [V2.S4, V3.S4]
	ADD    R3, R2, R2
	ROW8(16, 0, 0)
	ROW8(18, 0, 1)
	ROW8(20, 0, 2)
	ROW8(22, 0, 3)
	ROW8(24, 1, 0)
	ROW8(26, 1, 1)
	ROW8(28, 1, 2)
	ROW8(30, 1, 3)
	SUBS   $1, R0, R0
	BNE    loop8

	SROW2(V16, V17)
	SROW2(V18, V19)
	SROW2(V20, V21)
	SROW2(V22, V23)
	SROW2(V24, V25)
	SROW2(V26, V27)
	SROW2(V28, V29)
	SROW2(V30, V31)
	RET

// func kernel8x4NEON(kc int, a *float32, b *float32, ldb int, c *float32, ldc int, accumulate bool)
TEXT ·kernel8x4NEON(SB), NOSPLIT, $0-49
	KERNEL_ARGS
	CBZ   R6, zero4
	MOVD  R4, R7
	CROW1(V24)
	CROW1(V25)
	CROW1(V26)
	CROW1(V27)
	CROW1(V28)
	CROW1(V29)
	CROW1(V30)
	CROW1(V31)
	B     loop4

zero4:
	ZERO8(V24, V25, V26, V27, V28, V29, V30, V31)

loop4:
	VLD1.P 32(R1), [V0.S4, V1.S4]
	VLD1   (R2), [V2.S4]
	ADD    R3, R2, R2
	ROW4(24, 0, 0)
	ROW4(25, 0, 1)
	ROW4(26, 0, 2)
	ROW4(27, 0, 3)
	ROW4(28, 1, 0)
	ROW4(29, 1, 1)
	ROW4(30, 1, 2)
	ROW4(31, 1, 3)
	SUBS   $1, R0, R0
	BNE    loop4

	SROW1(V24)
	SROW1(V25)
	SROW1(V26)
	SROW1(V27)
	SROW1(V28)
	SROW1(V29)
	SROW1(V30)
	SROW1(V31)
	RET

// func epilogueNEON(row *float32, n int, scale float32, shift float32, res *float32, relu bool)
// 16 floats a step: V16-V19 = shift + row*scale (+ res), masked to zero
// where not > 0 when relu.
TEXT ·epilogueNEON(SB), NOSPLIT, $0-33
	MOVD  row+0(FP), R0
	MOVD  n+8(FP), R1
	FMOVS scale+16(FP), F0
	FMOVS shift+20(FP), F1
	MOVD  res+24(FP), R2
	MOVBU relu+32(FP), R3
	VDUP  V0.S[0], V0.S4
	VDUP  V1.S[0], V1.S4

epiloop:
	VLD1  (R0), [V4.S4, V5.S4, V6.S4, V7.S4]
	VMOV  V1.B16, V16.B16
	VMOV  V1.B16, V17.B16
	VMOV  V1.B16, V18.B16
	VMOV  V1.B16, V19.B16
	VFMLA V0.S4, V4.S4, V16.S4
	VFMLA V0.S4, V5.S4, V17.S4
	VFMLA V0.S4, V6.S4, V18.S4
	VFMLA V0.S4, V7.S4, V19.S4
	CBZ   R2, nores
	VLD1.P 64(R2), [V20.S4, V21.S4, V22.S4, V23.S4]
	FADD4(16, 16, 20)
	FADD4(17, 17, 21)
	FADD4(18, 18, 22)
	FADD4(19, 19, 23)

nores:
	CBZ  R3, store
	FCMGTZ(24, 16)
	FCMGTZ(25, 17)
	FCMGTZ(26, 18)
	FCMGTZ(27, 19)
	VAND V24.B16, V16.B16, V16.B16
	VAND V25.B16, V17.B16, V17.B16
	VAND V26.B16, V18.B16, V18.B16
	VAND V27.B16, V19.B16, V19.B16

store:
	VST1.P [V16.S4, V17.S4, V18.S4, V19.S4], 64(R0)
	SUBS   $16, R1, R1
	BNE    epiloop
	RET
