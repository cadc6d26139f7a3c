package vision

import (
	"image"

	"github.com/dla-go/dla/internal/kernel/jpegdsp"
)

// JPEG colour conversion the way libjpeg(-turbo) does it, which is what both
// OpenCV and Pillow link: "fancy" (triangle-filter) chroma upsampling, then
// YCbCr -> RGB through 16-bit fixed-point tables. Go's own image/jpeg
// conversion replicates chroma samples and rounds differently, which costs
// several grey levels on colour edges.

// ycbcrToRGB converts a decoded JPEG.
func ycbcrToRGB(out *RGB, m *image.YCbCr) {
	w, h := out.W, out.H
	var cb, cr []uint8
	switch {
	case m.SubsampleRatio == image.YCbCrSubsampleRatio444:
		cb, cr = plane444(m.Cb, m.CStride, m.COffset(m.Rect.Min.X, m.Rect.Min.Y), w, h), plane444(m.Cr, m.CStride, m.COffset(m.Rect.Min.X, m.Rect.Min.Y), w, h)
	case m.Rect.Min != (image.Point{}):
		// Sub-images of subsampled planes start mid-sample; decoders never
		// return them, so Go's conversion is good enough here.
		generic(out, m)
		return
	default:
		cb, cr = upsample(m.Cb, m.CStride, w, h, m.SubsampleRatio), upsample(m.Cr, m.CStride, w, h, m.SubsampleRatio)
	}
	d := out.Pix
	for y := 0; y < h; y++ {
		yrow := m.Y[m.YOffset(m.Rect.Min.X, m.Rect.Min.Y+y):]
		for x := 0; x < w; x++ {
			i := y*w + x
			d[3*i], d[3*i+1], d[3*i+2] = jpegdsp.YCbCr(yrow[x], cb[i], cr[i])
		}
	}
}

func plane444(src []uint8, stride, off, w, h int) []uint8 {
	p := make([]uint8, w*h)
	for y := 0; y < h; y++ {
		copy(p[y*w:(y+1)*w], src[off+y*stride:])
	}
	return p
}

// upsample expands a chroma plane of a Go-decoded JPEG to w x h.
func upsample(src []uint8, stride, w, h int, ratio image.YCbCrSubsampleRatio) []uint8 {
	hs, vs := 2, 1
	switch ratio {
	case image.YCbCrSubsampleRatio420:
		vs = 2
	case image.YCbCrSubsampleRatio440:
		hs, vs = 1, 2
	case image.YCbCrSubsampleRatio411:
		hs = 4
	case image.YCbCrSubsampleRatio410:
		hs, vs = 4, 2
	}
	return upsampleBy(src, stride, (w+hs-1)/hs, (h+vs-1)/vs, w, h, hs, vs)
}

// upsampleBy expands a cw x ch component plane by integer factors to w x h
// the way libjpeg's jdsample.c does: triangle ("fancy") filters with their
// biased rounding for h2v1, h1v2 and h2v2, plain replication otherwise (and
// for h2 when the plane is at most 2 samples wide). Context rows and columns
// beyond the plane repeat its edge, as libjpeg's context buffers do.
func upsampleBy(src []uint8, stride, cw, ch, w, h, hs, vs int) []uint8 {
	out := make([]uint8, w*h)
	row := func(r int) []uint8 {
		r = max(0, min(r, ch-1))
		return src[r*stride : r*stride+cw]
	}
	fancy := (hs == 2 && (vs == 1 || vs == 2) && cw > 2) || (hs == 1 && vs == 2)
	if !fancy {
		for y := range h {
			near := row(y / vs)
			o := out[y*w : (y+1)*w]
			for x := range o {
				o[x] = near[x/hs]
			}
		}
		return out
	}
	buf := make([]int32, cw*hs)
	colsum := make([]int32, cw)
	for y := range h {
		r := y / vs
		near := row(r)
		switch {
		case vs == 2:
			// Vertical step: the nearer row weighs 3, the other 1.
			far, bias := row(r-1), int32(1)
			if y%2 == 1 {
				far, bias = row(r+1), 2
			}
			for j := range cw {
				colsum[j] = 3*int32(near[j]) + int32(far[j])
			}
			if hs == 1 {
				for j := range cw {
					buf[j] = (colsum[j] + bias) >> 2
				}
				break
			}
			for j := range cw {
				if j == 0 {
					buf[0] = (colsum[0]*4 + 8) >> 4
				} else {
					buf[2*j] = (3*colsum[j] + colsum[j-1] + 8) >> 4
				}
				if j == cw-1 {
					buf[2*j+1] = (colsum[j]*4 + 7) >> 4
				} else {
					buf[2*j+1] = (3*colsum[j] + colsum[j+1] + 7) >> 4
				}
			}
		default: // h2v1
			for j := range cw {
				c := 3 * int32(near[j])
				if j == 0 {
					buf[0] = int32(near[0])
				} else {
					buf[2*j] = (c + int32(near[j-1]) + 1) >> 2
				}
				if j == cw-1 {
					buf[2*j+1] = int32(near[j])
				} else {
					buf[2*j+1] = (c + int32(near[j+1]) + 2) >> 2
				}
			}
		}
		o := out[y*w : (y+1)*w]
		for x := range o {
			o[x] = uint8(buf[x])
		}
	}
	return out
}

// WebP (VP8) stores limited-range BT.601 YUV 4:2:0; libwebp, which OpenCV and
// Pillow link, upsamples chroma with its own "fancy" 9-3-3-1 filter (computed
// through two truncating averages) and converts with 14-bit constants.
// Go's image.YCbCr would be read as full-range JFIF, with shifted colours.

func webpClip8(v int32) uint8 {
	const mask = 256<<6 - 1
	if v&^mask == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}

func multHi(v, c int32) int32 { return (v * c) >> 8 }

// webpToRGB converts a lossy WebP frame (4:2:0 at the origin, as
// golang.org/x/image/webp returns it).
func webpToRGB(out *RGB, m *image.YCbCr) {
	w, h := out.W, out.H
	if m.SubsampleRatio != image.YCbCrSubsampleRatio420 || m.Rect.Min != (image.Point{}) {
		generic(out, m)
		return
	}
	cw, ch := (w+1)/2, (h+1)/2
	crow := func(p []uint8, r int) []uint8 { return p[r*m.CStride : r*m.CStride+cw] }
	u := make([]int32, w)
	v := make([]int32, w)
	for y := range h {
		// Output row y sits between chroma rows t (nearer for odd y, the
		// "top" line of libwebp's row pair) and c; row 0 mirrors row 0.
		var t, c int
		top := y%2 == 1 || y == 0
		switch {
		case y == 0:
			t, c = 0, 0
		case y%2 == 1:
			t, c = (y-1)/2, min((y+1)/2, ch-1)
		default:
			t, c = y/2-1, y/2
		}
		webpUpsampleRow(u, crow(m.Cb, t), crow(m.Cb, c), top, w)
		webpUpsampleRow(v, crow(m.Cr, t), crow(m.Cr, c), top, w)
		yrow := m.Y[y*m.YStride:]
		d := out.Pix[3*y*w:]
		for x := range w {
			yy := multHi(int32(yrow[x]), 19077)
			d[3*x] = webpClip8(yy + multHi(v[x], 26149) - 14234)
			d[3*x+1] = webpClip8(yy - multHi(u[x], 6419) - multHi(v[x], 13320) + 8708)
			d[3*x+2] = webpClip8(yy + multHi(u[x], 33050) - 17685)
		}
	}
}

// webpUpsampleRow is libwebp's UpsampleRgbLinePair for one chroma plane and
// one output row; top says the row is nearer to chroma row T than to C.
func webpUpsampleRow(dst []int32, T, C []uint8, top bool, w int) {
	tl, l := int32(T[0]), int32(C[0])
	edge := func(t, c int32) int32 {
		if top {
			return (3*t + c + 2) >> 2
		}
		return (3*c + t + 2) >> 2
	}
	dst[0] = edge(tl, l)
	last := (w - 1) >> 1
	for x := 1; x <= last; x++ {
		t, c := int32(T[x]), int32(C[x])
		avg := tl + t + l + c + 8
		d12 := (avg + 2*(t+l)) >> 3
		d03 := (avg + 2*(tl+c)) >> 3
		if top {
			dst[2*x-1] = (d12 + tl) >> 1
			dst[2*x] = (d03 + t) >> 1
		} else {
			dst[2*x-1] = (d03 + l) >> 1
			dst[2*x] = (d12 + c) >> 1
		}
		tl, l = t, c
	}
	if w%2 == 0 {
		dst[w-1] = edge(tl, l)
	}
}
