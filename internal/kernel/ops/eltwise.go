package ops

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
		for i, v := range y[lo:hi] {
			if v > 0 {
				dx[lo+i] = dy[lo+i]
			} else {
				dx[lo+i] = 0
			}
		}
	})
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
