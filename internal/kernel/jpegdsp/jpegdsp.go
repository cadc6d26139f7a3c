package jpegdsp

// kernels is one tier's assembly; a nil entry falls back to the Go code.
// The upsamplers and the colour conversion handle whole steps of samples;
// the Go wrappers below do the rest of each row.
type kernels struct {
	name string
	// idct transforms n adjacent blocks (64 coefficients each) into n 8x8
	// sample blocks side by side at dst, rows stride apart.
	idct func(dst *uint8, stride int, blk *int16, q *uint16, n int)
	// h2v2 and h2v1 write output samples 2j and 2j+1 for j = 1..n, reading
	// input samples j-1..j+1; n is a multiple of step.
	h2v2 func(dst, near, far *uint8, n int)
	h2v1 func(dst, src *uint8, n int)
	// ycc converts n pixels, a multiple of step.
	ycc  func(dst, y, cb, cr *uint8, n int)
	step int
	// transpose copies lanes pixels of each of w columns (see Transpose).
	transpose func(dst *uint8, step int, src *uint8, idx *int32, w int)
	lanes     int
}

var generic = &kernels{name: "go"}

// active is the best tier this CPU supports, chosen once.
var active = bestKernels()

// Tier names the kernels in use: "avx512", "avx2" or "go".
func Tier() string { return active.name }

// IDCT transforms n blocks, blk[64k:64k+64] dequantised by q, into 8x8
// sample blocks at dst[8k:], rows stride apart.
func IDCT(dst []uint8, stride int, blk []int16, q *[64]uint16, n int) {
	idctWith(active, dst, stride, blk, q, n)
}

func idctWith(k *kernels, dst []uint8, stride int, blk []int16, q *[64]uint16, n int) {
	if n <= 0 {
		return
	}
	_, _ = blk[64*n-1], dst[7*stride+8*n-1]
	if k.idct != nil {
		k.idct(&dst[0], stride, &blk[0], &q[0], n)
		return
	}
	for i := range n {
		idctGeneric(dst[8*i:], stride, (*[64]int16)(blk[64*i:]), q)
	}
}

// H2V2 writes the 2*len(near) samples of one output row of libjpeg's fancy
// 2x2 upsampling: near is the input row nearer to the output row, far the
// other neighbouring row (near itself at the top and bottom edges).
// len(near) must be at least 3.
func H2V2(dst, near, far []uint8) { h2v2With(active, dst, near, far) }

func h2v2With(k *kernels, dst, near, far []uint8) {
	n := len(near)
	far, dst = far[:n], dst[:2*n]
	m := 0
	if k.h2v2 != nil && n >= 2+k.step {
		m = (n - 2) / k.step * k.step
		k.h2v2(&dst[0], &near[0], &far[0], m)
	}
	h2v2Range(dst, near, far, 0, 1)
	h2v2Range(dst, near, far, m+1, n)
}

// H2V1 writes the 2*len(src) samples of one row of fancy 2x1 upsampling;
// len(src) must be at least 3.
func H2V1(dst, src []uint8) { h2v1With(active, dst, src) }

func h2v1With(k *kernels, dst, src []uint8) {
	n := len(src)
	dst = dst[:2*n]
	m := 0
	if k.h2v1 != nil && n >= 2+k.step {
		m = (n - 2) / k.step * k.step
		k.h2v1(&dst[0], &src[0], m)
	}
	h2v1Range(dst, src, 0, 1)
	h2v1Range(dst, src, m+1, n)
}

// YCbCrToRGB converts len(y) pixels into dst, R, G, B bytes each.
func YCbCrToRGB(dst, y, cb, cr []uint8) { yccWith(active, dst, y, cb, cr) }

func yccWith(k *kernels, dst, y, cb, cr []uint8) {
	n := len(y)
	cb, cr, dst = cb[:n], cr[:n], dst[:3*n]
	m := 0
	if k.ycc != nil && n >= k.step {
		m = n / k.step * k.step
		k.ycc(&dst[0], &y[0], &cb[0], &cr[0], m)
	}
	yccGeneric(dst[3*m:], y[m:], cb[m:], cr[m:])
}
