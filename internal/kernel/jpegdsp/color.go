package jpegdsp

// YCbCr -> RGB the way libjpeg's ycc_rgb_convert does it: 16.16 fixed-point
// products, rounded, with the green term summed before its shift.

const (
	yccScaleBits = 16
	yccHalf      = 1 << (yccScaleBits - 1)
)

// fix is libjpeg's FIX(x): x in 16.16 fixed point, rounded.
func fix(x float64) int32 { return int32(x*(1<<yccScaleBits) + 0.5) }

// The products of libjpeg's conversion tables, as constants the kernels use
// too (FIX(1.40200), FIX(1.77200), FIX(0.71414), FIX(0.34414)).
var (
	fixCrR = fix(1.40200)
	fixCbB = fix(1.77200)
	fixCrG = fix(0.71414)
	fixCbG = fix(0.34414)
)

// crR, cbB, crG and cbG are libjpeg's tables, indexed by the sample.
var crR, cbB, crG, cbG [256]int32

func init() {
	for i := range 256 {
		x := int32(i - 128)
		crR[i] = (fixCrR*x + yccHalf) >> yccScaleBits
		cbB[i] = (fixCbB*x + yccHalf) >> yccScaleBits
		crG[i] = -fixCrG * x
		cbG[i] = -fixCbG*x + yccHalf
	}
}

// YCbCr converts one sample to RGB.
func YCbCr(y, cb, cr uint8) (r, g, b uint8) {
	Y := int32(y)
	return clamp8(Y + crR[cr]), clamp8(Y + (cbG[cb]+crG[cr])>>yccScaleBits), clamp8(Y + cbB[cb])
}

// yccGeneric converts len(y) pixels into dst, 3 bytes each (R, G, B).
func yccGeneric(dst, y, cb, cr []uint8) {
	n := len(y)
	cb, cr, dst = cb[:n], cr[:n], dst[:3*n]
	for i := range n {
		dst[3*i], dst[3*i+1], dst[3*i+2] = YCbCr(y[i], cb[i], cr[i])
	}
}
