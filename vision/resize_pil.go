package vision

import (
	"image"
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

func newPILAxis(in, out int) *pilAxis {
	scale := float64(in) / float64(out)
	filterscale := max(scale, 1.0)
	support := 1.0 * filterscale // bilinear support is 1
	ksize := int(math.Ceil(support))*2 + 1
	a := &pilAxis{ksize: ksize, first: make([]int, out), n: make([]int, out), k: make([]int32, out*ksize)}
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

// span returns the source samples [first, end) that outputs lo..hi-1 read.
func (a *pilAxis) span(lo, hi int) (int, int) {
	first, end := a.first[lo], 0
	for i := lo; i < hi; i++ {
		first = min(first, a.first[i])
		end = max(end, a.first[i]+a.n[i])
	}
	return first, max(end, first)
}

// pilResize is ResizePIL from a srcW x srcH image, restricted to the output
// window win.
type pilResize struct {
	win, src image.Rectangle // src: the source pixels win reads
	xs, ys   *pilAxis        // nil for a side that keeps its size
}

func newPILResize(srcW, srcH, w, h int, win image.Rectangle) *pilResize {
	r := &pilResize{win: win, src: win}
	if w != srcW {
		r.xs = newPILAxis(srcW, w)
		r.src.Min.X, r.src.Max.X = r.xs.span(win.Min.X, win.Max.X)
	}
	if h != srcH {
		r.ys = newPILAxis(srcH, h)
		r.src.Min.Y, r.src.Max.Y = r.ys.span(win.Min.Y, win.Max.Y)
	}
	return r
}

func (r *pilResize) source() image.Rectangle { return r.src }

// apply runs the horizontal pass on the source rows the vertical pass
// reads, for the window's columns only, then the vertical pass.
func (r *pilResize) apply(v view) *RGB {
	if r.xs != nil {
		v = view{pix: r.horizontal(v), x0: r.win.Min.X, y0: r.src.Min.Y}
	}
	switch {
	case r.ys != nil:
		return r.vertical(v)
	case r.xs != nil:
		return v.pix // the horizontal pass made exactly the window
	}
	return v.copyRect(r.win)
}

// ResizePIL resizes like PIL.Image.resize((w, h), Image.BILINEAR).
func ResizePIL(src *RGB, w, h int) (*RGB, error) {
	if err := checkResize(src, w, h); err != nil {
		return nil, err
	}
	return newPILResize(src.W, src.H, w, h, fullWindow(w, h)).apply(wholeView(src)), nil
}

func (r *pilResize) horizontal(v view) *RGB {
	xs, w := r.xs, r.win.Dx()
	tmp := NewRGB(w, r.src.Dy())
	for y := r.src.Min.Y; y < r.src.Max.Y; y++ {
		s := v.row(v.x0, y)
		d := tmp.Pix[(y-r.src.Min.Y)*3*w:]
		for i, xx := 0, r.win.Min.X; xx < r.win.Max.X; i, xx = i+1, xx+1 {
			k := xs.k[xx*xs.ksize:]
			var s0, s1, s2 int32 = 1 << (pilPrecisionBits - 1), 1 << (pilPrecisionBits - 1), 1 << (pilPrecisionBits - 1)
			p := s[3*(xs.first[xx]-v.x0):]
			for x := range xs.n[xx] {
				kv := k[x]
				s0 += int32(p[3*x]) * kv
				s1 += int32(p[3*x+1]) * kv
				s2 += int32(p[3*x+2]) * kv
			}
			d[3*i], d[3*i+1], d[3*i+2] = pilClip8(s0), pilClip8(s1), pilClip8(s2)
		}
	}
	return tmp
}

// vertical is the vertical pass; the columns of v are the output's.
func (r *pilResize) vertical(v view) *RGB {
	ys, win := r.ys, r.win
	out := NewRGB(win.Dx(), win.Dy())
	rw, stride := 3*win.Dx(), 3*v.pix.W
	for yy := win.Min.Y; yy < win.Max.Y; yy++ {
		k := ys.k[yy*ys.ksize:]
		base := v.offset(win.Min.X, ys.first[yy])
		d := out.Pix[(yy-win.Min.Y)*rw : (yy-win.Min.Y+1)*rw]
		for x := range rw {
			var s int32 = 1 << (pilPrecisionBits - 1)
			for y := range ys.n[yy] {
				s += int32(v.pix.Pix[base+y*stride+x]) * k[y]
			}
			d[x] = pilClip8(s)
		}
	}
	return out
}
