package jpegdsp

// Transpose copies the pixel columns of a strip of n RGB rows (stride bytes
// apart, 3 bytes a pixel, w pixels a row) into runs of dst: column sx, top
// to bottom (bottom to top with reverse), becomes the n pixels at
// dst[start+sx*step:]; step may be negative. It is how a decoded strip lands
// in an image rotated by its EXIF orientation. src must extend at least one
// byte past the strip's last pixel: the kernels read pixels as 4-byte words.
func Transpose(dst []uint8, start, step int, src []uint8, stride, n, w int, reverse bool) {
	transposeWith(active, dst, start, step, src, stride, n, w, reverse)
}

func transposeWith(k *kernels, dst []uint8, start, step int, src []uint8, stride, n, w int, reverse bool) {
	if n <= 0 || w <= 0 {
		return
	}
	first, last := start, start+(w-1)*step
	_, _ = dst[min(first, last)], dst[max(first, last)+3*n-1]
	_ = src[(n-1)*stride+3*w]
	row := func(i int) int {
		if reverse {
			return n - 1 - i
		}
		return i
	}
	i := 0
	if k.transpose != nil {
		var idx [16]int32
		for ; i+k.lanes <= n; i += k.lanes {
			for j := range k.lanes {
				idx[j] = int32(row(i+j) * stride)
			}
			k.transpose(&dst[start+3*i], step, &src[0], &idx[0], w)
		}
	}
	// The rows left over, and every row in Go.
	for ; i < n; i++ {
		s := src[row(i)*stride : row(i)*stride+3*w]
		for sx := range w {
			d := start + sx*step + 3*i
			dst[d], dst[d+1], dst[d+2] = s[3*sx], s[3*sx+1], s[3*sx+2]
		}
	}
}
