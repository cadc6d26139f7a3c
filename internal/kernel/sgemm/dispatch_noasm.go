//go:build (!amd64 && !arm64) || purego

package sgemm

func asmVariants() []*variant { return nil }

// pack8 is the vector packing of 8-row panels of A; none here.
var pack8 func(dst, src []float32, lda, kc int, alpha float32)
