package ops

import "math"

// ReLU sets y[i] = max(x[i], 0) for the len(x) values of x; y may be x.
func ReLU(x, y []float32) {
	checkLen("y", y, len(x))
	forRange(len(x), func(lo, hi int) {
		for i, v := range x[lo:hi] {
			y[lo+i] = max(v, 0)
		}
	})
}

// ReLUBackward sets dx = dy where the ReLU's output y is positive, else 0;
// dx may be dy.
func ReLUBackward(y, dy, dx []float32) {
	checkLen("dy", dy, len(y))
	checkLen("dx", dx, len(y))
	forRange(len(y), func(lo, hi int) {
		dd, xx := dy[lo:hi], dx[lo:hi]
		for i, v := range y[lo:hi] {
			xx[i] = math.Float32frombits(math.Float32bits(dd[i]) & positiveMask(v))
		}
	})
}

// positiveMask is all ones when v > 0 and zero otherwise (NaN, zeros of
// either sign, negatives), without a branch: ReLU masks are close to random,
// and a mispredicted branch per element made the loop ten times slower.
func positiveMask(v float32) uint32 {
	const inf = 0x7f800000 // larger bit patterns of either sign are NaNs
	b := int32(math.Float32bits(v))
	return uint32(-b>>31) &^ uint32(b>>31) &^ uint32((inf-b)>>31)
}

// Add sets y = a + b element-wise over len(a) values; y may alias a or b.
// Its backward pass is the identity for both inputs.
func Add(a, b, y []float32) {
	checkLen("b", b, len(a))
	checkLen("y", y, len(a))
	forRange(len(a), func(lo, hi int) {
		bb, yy := b[lo:hi], y[lo:hi]
		for i, v := range a[lo:hi] {
			yy[i] = v + bb[i]
		}
	})
}
