package ops

// CopyChannels copies, for each of n images, the c channels of src (an
// n x c x hw tensor) into channels [off, off+c) of dst (n x dstC x hw).
// A planner that writes each input straight into its slice of the
// concatenation buffer needs no copy at all; this is for the rest.
func CopyChannels(n, c, hw, dstC, off int, src, dst []float32) {
	checkSlice(n, c, hw, dstC, off, src, dst)
	forChannels(n, c*hw, func(lo, hi int) {
		for img := lo; img < hi; img++ {
			copy(dst[(img*dstC+off)*hw:(img*dstC+off+c)*hw], src[img*c*hw:(img+1)*c*hw])
		}
	})
}

// SliceChannels is the backward of CopyChannels: it copies channels
// [off, off+c) of src (n x srcC x hw) into dst (n x c x hw).
func SliceChannels(n, c, hw, srcC, off int, src, dst []float32) {
	checkSlice(n, c, hw, srcC, off, dst, src)
	forChannels(n, c*hw, func(lo, hi int) {
		for img := lo; img < hi; img++ {
			copy(dst[img*c*hw:(img+1)*c*hw], src[(img*srcC+off)*hw:(img*srcC+off+c)*hw])
		}
	})
}

func checkSlice(n, c, hw, wideC, off int, narrow, wide []float32) {
	checkSizes(n, c, hw, off)
	if off+c > wideC {
		panic("ops: channel slice out of range")
	}
	checkLen("narrow tensor", narrow, n*c*hw)
	checkLen("wide tensor", wide, n*wideC*hw)
}

// Concat writes the inputs, each n x chans[i] x hw, one after another along
// the channel axis of y (n x sum(chans) x hw).
func Concat(n, hw int, inputs [][]float32, chans []int, y []float32) {
	total, offs := concatLayout(inputs, chans)
	for i, in := range inputs {
		CopyChannels(n, chans[i], hw, total, offs[i], in, y)
	}
}

// ConcatBackward splits dy (n x sum(chans) x hw) back into the gradients of
// the inputs, each n x chans[i] x hw.
func ConcatBackward(n, hw int, dy []float32, chans []int, dinputs [][]float32) {
	total, offs := concatLayout(dinputs, chans)
	for i, d := range dinputs {
		SliceChannels(n, chans[i], hw, total, offs[i], dy, d)
	}
}

func concatLayout(parts [][]float32, chans []int) (total int, offs []int) {
	if len(parts) != len(chans) {
		panic("ops: concat needs one channel count per input")
	}
	offs = make([]int, len(chans))
	for i, c := range chans {
		checkSizes(c)
		offs[i] = total
		total += c
	}
	return total, offs
}

// SwapAxes writes src, an a x b array of hw-float planes, to dst as the
// b x a array of the same planes: dst[j][i] = src[i][j]. With a = images and
// b = channels it lays a batch out as one image whose pixels are every
// image's (channels outermost), for the 1x1 convolutions of small maps.
func SwapAxes(a, b, hw int, src, dst []float32) {
	checkSizes(a, b, hw)
	checkLen("src", src, a*b*hw)
	checkLen("dst", dst, a*b*hw)
	forChannels(b, a*hw, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			for i := range a {
				copy(dst[(j*a+i)*hw:(j*a+i+1)*hw], src[(i*b+j)*hw:(i*b+j+1)*hw])
			}
		}
	})
}

// SwapAxesInto is SwapAxes returning dst.
func SwapAxesInto(a, b, hw int, src, dst []float32) []float32 {
	SwapAxes(a, b, hw, src, dst)
	return dst
}
