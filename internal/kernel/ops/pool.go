package ops

// MaxPool is max pooling with kernel = stride = k, no padding, floor mode:
// x is n x c x h x w, y is n x c x h/k x w/k. A NaN in a window wins, and
// among equal maxima the first in row-major order does (as in PyTorch).
func MaxPool(n, c, h, w, k int, x, y []float32) {
	oh, ow := checkPool(n, c, h, w, k, x, y)
	forChannels(n*c, h*w, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			MaxPoolPlane(x[p*h*w:(p+1)*h*w], y[p*oh*ow:(p+1)*oh*ow], h, w, k)
		}
	})
}

// MaxPoolPlane is MaxPool of one h x w plane src into dst (h/k x w/k), on
// the caller's goroutine (the engine splits its planes over its own tasks).
func MaxPoolPlane(src, dst []float32, h, w, k int) {
	oh, ow := h/k, w/k
	if k == 2 {
		maxPool2(src, dst, w, oh, ow)
		return
	}
	for i := range oh {
		for j := range ow {
			dst[i*ow+j] = src[argmaxWindow(src, w, k, i, j)]
		}
	}
}

// maxPool2Generic is the definition of maxPool2, the 2x2 case (every DLA
// pool) with the window unrolled.
func maxPool2Generic(src, dst []float32, w, oh, ow int) {
	for i := range oh {
		r0, r1 := src[2*i*w:2*i*w+2*ow], src[(2*i+1)*w:(2*i+1)*w+2*ow]
		d := dst[i*ow : (i+1)*ow]
		for j := range d {
			m := r0[2*j]
			for _, v := range [3]float32{r0[2*j+1], r1[2*j], r1[2*j+1]} {
				if v > m || v != v {
					m = v
				}
			}
			d[j] = m
		}
	}
}

// MaxPoolRef is the serial definition of MaxPool.
func MaxPoolRef(n, c, h, w, k int, x, y []float32) {
	oh, ow := checkPool(n, c, h, w, k, x, y)
	for p := range n * c {
		src := x[p*h*w : (p+1)*h*w]
		for i := range oh {
			for j := range ow {
				y[(p*oh+i)*ow+j] = src[argmaxWindow(src, w, k, i, j)]
			}
		}
	}
}

// argmaxWindow is the index in one plane of the maximum of window (i, j).
func argmaxWindow(plane []float32, w, k, i, j int) int {
	best := i*k*w + j*k
	m := plane[best]
	for r := range k {
		for s := range k {
			at := (i*k+r)*w + j*k + s
			if v := plane[at]; takesMax(v, m) {
				best, m = at, v
			}
		}
	}
	return best
}

// MaxPoolBackward routes each dy to the input position MaxPool took its
// value from; every other dx is 0. Windows do not overlap (stride = kernel).
func MaxPoolBackward(n, c, h, w, k int, x, dy, dx []float32) {
	oh, ow := checkPool(n, c, h, w, k, x, dy)
	checkLen("dx", dx, n*c*h*w)
	forChannels(n*c, h*w, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			src, d := x[p*h*w:(p+1)*h*w], dx[p*h*w:(p+1)*h*w]
			clear(d)
			if k == 2 {
				maxPool2BackwardPlane(src, d, dy[p*oh*ow:(p+1)*oh*ow], w, oh, ow)
				continue
			}
			for i := range oh {
				for j := range ow {
					d[argmaxWindow(src, w, k, i, j)] = dy[(p*oh+i)*ow+j]
				}
			}
		}
	})
}

func checkPool(n, c, h, w, k int, x, y []float32) (oh, ow int) {
	checkSizes(n, c, h, w)
	if k < 1 {
		panic("ops: pooling kernel must be positive")
	}
	oh, ow = h/k, w/k
	checkLen("x", x, n*c*h*w)
	checkLen("y", y, n*c*oh*ow)
	return oh, ow
}

// GlobalAvgPool sets y[p] to the mean of the hw values of plane p, for the
// n*c planes of x (the classifier head).
func GlobalAvgPool(n, c, hw int, x, y []float32) {
	checkSizes(n, c, hw)
	checkLen("x", x, n*c*hw)
	checkLen("y", y, n*c)
	forChannels(n*c, hw, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			var s float64
			for _, v := range x[p*hw : (p+1)*hw] {
				s += float64(v)
			}
			y[p] = float32(s / float64(hw))
		}
	})
}

// GlobalAvgPoolBackward spreads dy[p]/hw over plane p of dx.
func GlobalAvgPoolBackward(n, c, hw int, dy, dx []float32) {
	checkSizes(n, c, hw)
	checkLen("dy", dy, n*c)
	checkLen("dx", dx, n*c*hw)
	forChannels(n*c, hw, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			g := dy[p] / float32(hw)
			d := dx[p*hw : (p+1)*hw]
			for i := range d {
				d[i] = g
			}
		}
	})
}

// maxPool2BackwardPlane is MaxPoolBackward's loop over one plane for 2x2
// windows (every DLA pool), argmaxWindow unrolled: d[the window's first
// maximum, or its first NaN] = dy. d is zero on entry.
func maxPool2BackwardPlane(src, d, dy []float32, w, oh, ow int) {
	for i := range oh {
		r0, r1 := src[2*i*w:2*i*w+2*ow], src[(2*i+1)*w:(2*i+1)*w+2*ow]
		d0, d1 := d[2*i*w:2*i*w+2*ow], d[(2*i+1)*w:(2*i+1)*w+2*ow]
		for j, g := range dy[i*ow : (i+1)*ow] {
			win := [4]float32{r0[2*j], r0[2*j+1], r1[2*j], r1[2*j+1]}
			best, m := 0, win[0]
			for t := 1; t < 4; t++ {
				if v := win[t]; takesMax(v, m) {
					best, m = t, v
				}
			}
			if best < 2 {
				d0[2*j+best] = g
			} else {
				d1[2*j+best-2] = g
			}
		}
	}
}

// takesMax reports whether v, met after the running maximum m in a window,
// replaces it: a greater value or the first NaN (which then stays).
func takesMax(v, m float32) bool { return m == m && (v > m || v != v) }
