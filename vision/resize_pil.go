package vision

import (
	"fmt"
	"math"
)

// Pillow's Image.resize(..., BILINEAR) on 8-bit images (Resample.c): a
// separable triangle filter whose support widens by the downscale factor
// (so it antialiases), float64 weights normalised per output sample, then
// converted to fixed point with 22 fractional bits; the horizontal pass
// rounds to uint8 before the vertical pass reads it.

const pilPrecisionBits = 32 - 8 - 2

// pilAxis is Pillow's precompute_coeffs + normalize_coeffs_8bpc for one axis:
// for output i, weights k[i*ksize : i*ksize+n[i]] apply to source samples
// first[i], first[i]+1, ...
type pilAxis struct {
	ksize    int
	first, n []int
	k        []int32
}

func newPILAxis(in, out int) pilAxis {
	scale := float64(in) / float64(out)
	filterscale := max(scale, 1.0)
	support := 1.0 * filterscale // bilinear support is 1
	ksize := int(math.Ceil(support))*2 + 1
	a := pilAxis{ksize: ksize, first: make([]int, out), n: make([]int, out), k: make([]int32, out*ksize)}
	w := make([]float64, ksize)
	for xx := range out {
		center := (float64(xx) + 0.5) * scale
		ss := 1.0 / filterscale
		xmin := max(int(center-support+0.5), 0)
		xmax := min(int(center+support+0.5), in) - xmin
		ww := 0.0
		for x := range xmax {
			t := math.Abs((float64(x+xmin) - center + 0.5) * ss)
			v := 0.0
			if t < 1 {
				v = 1 - t
			}
			w[x] = v
			ww += v
		}
		for x := range xmax {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				a.k[xx*ksize+x] = int32(-0.5 + v*(1<<pilPrecisionBits))
			} else {
				a.k[xx*ksize+x] = int32(0.5 + v*(1<<pilPrecisionBits))
			}
		}
		a.first[xx], a.n[xx] = xmin, max(xmax, 0)
	}
	return a
}

func pilClip8(v int32) uint8 {
	if v >= 1<<pilPrecisionBits<<8 {
		return 255
	}
	if v <= 0 {
		return 0
	}
	return uint8(v >> pilPrecisionBits)
}

// ResizePIL resizes like PIL.Image.resize((w, h), Image.BILINEAR).
func ResizePIL(src *RGB, w, h int) (*RGB, error) {
	if err := src.check(); err != nil {
		return nil, err
	}
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("vision: resize to %dx%d", w, h)
	}
	cur := src
	if w != src.W {
		xs := newPILAxis(src.W, w)
		// Only the rows the vertical pass will read are resampled.
		y0, y1 := 0, src.H
		var ys pilAxis
		if h != src.H {
			ys = newPILAxis(src.H, h)
			y0, y1 = ys.first[0], ys.first[h-1]+ys.n[h-1]
		}
		tmp := NewRGB(w, y1-y0)
		for y := y0; y < y1; y++ {
			s := src.Pix[y*src.W*3:]
			d := tmp.Pix[(y-y0)*w*3:]
			for xx := range w {
				k := xs.k[xx*xs.ksize:]
				var s0, s1, s2 int32 = 1 << (pilPrecisionBits - 1), 1 << (pilPrecisionBits - 1), 1 << (pilPrecisionBits - 1)
				p := s[xs.first[xx]*3:]
				for x := range xs.n[xx] {
					kv := k[x]
					s0 += int32(p[3*x]) * kv
					s1 += int32(p[3*x+1]) * kv
					s2 += int32(p[3*x+2]) * kv
				}
				d[3*xx], d[3*xx+1], d[3*xx+2] = pilClip8(s0), pilClip8(s1), pilClip8(s2)
			}
		}
		if h == src.H {
			return tmp, nil
		}
		return pilVertical(tmp, ys, y0, h), nil
	}
	if h == src.H {
		return &RGB{W: w, H: h, Pix: append([]uint8(nil), cur.Pix...)}, nil
	}
	return pilVertical(cur, newPILAxis(src.H, h), 0, h), nil
}

// pilVertical runs the vertical pass on src, whose row 0 is source row y0.
func pilVertical(src *RGB, ys pilAxis, y0, h int) *RGB {
	w := src.W
	out := NewRGB(w, h)
	rw := 3 * w
	for yy := range h {
		k := ys.k[yy*ys.ksize:]
		first := ys.first[yy] - y0
		d := out.Pix[yy*rw : (yy+1)*rw]
		for x := range rw {
			var s int32 = 1 << (pilPrecisionBits - 1)
			for y := range ys.n[yy] {
				s += int32(src.Pix[(first+y)*rw+x]) * k[y]
			}
			d[x] = pilClip8(s)
		}
	}
	return out
}
