package jpegdsp

// libjpeg's "fancy" chroma upsampling (jdsample.c), one output row a call:
// each output sample is a 3:1 blend of its nearer and farther input
// neighbours, with libjpeg's alternating rounding biases. Samples beyond the
// row's ends repeat its edge samples, which gives libjpeg's edge formulas.
// Rows must hold at least 3 samples (libjpeg replicates narrower rows).

// h2v2Range writes output samples 2j and 2j+1 for j in [lo, hi) of one row
// of 2x2 upsampling (see H2V2).
func h2v2Range(dst, near, far []uint8, lo, hi int) {
	n := len(near)
	cs := func(j int) int32 {
		j = max(0, min(j, n-1))
		return 3*int32(near[j]) + int32(far[j])
	}
	for j := lo; j < hi; j++ {
		c := 3 * cs(j)
		dst[2*j] = uint8((c + cs(j-1) + 8) >> 4)
		dst[2*j+1] = uint8((c + cs(j+1) + 7) >> 4)
	}
}

// h2v1Range writes output samples 2j and 2j+1 for j in [lo, hi) of one row
// of 2x1 upsampling (see H2V1).
func h2v1Range(dst, src []uint8, lo, hi int) {
	n := len(src)
	at := func(j int) int32 { return int32(src[max(0, min(j, n-1))]) }
	for j := lo; j < hi; j++ {
		c := 3 * at(j)
		dst[2*j] = uint8((c + at(j-1) + 1) >> 2)
		dst[2*j+1] = uint8((c + at(j+1) + 2) >> 2)
	}
}

// H1V2 writes one row of 1x2 upsampling (vertical only); odd says the output
// row lies below near (rounding bias 2) rather than above it (bias 1).
func H1V2(dst, near, far []uint8, odd bool) {
	bias := int32(1)
	if odd {
		bias = 2
	}
	far = far[:len(near)]
	dst = dst[:len(near)]
	for j := range near {
		dst[j] = uint8((3*int32(near[j]) + int32(far[j]) + bias) >> 2)
	}
}
