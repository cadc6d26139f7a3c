//go:build !purego

package sgemm

// The NEON kernels (micro_arm64.s) compute the 8 x NR tile c = a*b, or
// c += a*b when accumulate, from the packed panel a (8 x kc, k-major) and the
// kc x NR panel b with row stride ldb; kc >= 1. In Go:
//
//	for r := range 8 {
//		for j := range NR {
//			s := float32(0)
//			if accumulate {
//				s = c[r*ldc+j]
//			}
//			for p := range kc {
//				s += a[p*8+r] * b[p*ldb+j] // fused multiply-add
//			}
//			c[r*ldc+j] = s
//		}
//	}
//
// Each step of k loads a column of A (8 floats, two vectors) and a row of B
// (NR/4 vectors) and multiplies-adds each lane of A into its row's vectors.

//go:noescape
func kernel8x12NEON(kc int, a *float32, b *float32, ldb int, c *float32, ldc int, accumulate bool)

//go:noescape
func kernel8x8NEON(kc int, a *float32, b *float32, ldb int, c *float32, ldc int, accumulate bool)

//go:noescape
func kernel8x4NEON(kc int, a *float32, b *float32, ldb int, c *float32, ldc int, accumulate bool)

// epilogueNEON applies the epilogue to row[:n], n a multiple of 16; res may
// be nil. In Go:
//
//	for x := range n {
//		v := row[x]*scale + shift // fused multiply-add
//		if res != nil {
//			v += res[x]
//		}
//		if relu && !(v > 0) {
//			v = 0
//		}
//		row[x] = v
//	}
//
//go:noescape
func epilogueNEON(row *float32, n int, scale float32, shift float32, res *float32, relu bool)
