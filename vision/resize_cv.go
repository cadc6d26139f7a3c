package vision

import (
	"image"
	"math"
)

// OpenCV's fixed-point bilinear resize (cv::resize, INTER_LINEAR, CV_8U) as
// the x86-64 build Debian ships computes it:
//   - source coordinate f = float32((d+0.5)*scale - 0.5), scale = 1/(dst/src)
//     in float64, index floor(f), weights round((1-frac)*2048), round(frac*2048);
//   - horizontal pass into int32 (exact), columns clamped to the image edge;
//   - vertical pass with the SIMD arithmetic, which truncates twice:
//     (((S0>>4)*b0)>>16 + ((S1>>4)*b1)>>16 + 2) >> 2. The scalar formula in
//     resize.cpp, (S0*b0 + S1*b1 + 1<<21) >> 22, rounds differently; the
//     fixtures show OpenCV 4.6 applies the SIMD result to every element,
//     row tails included;
//   - a downscale by exactly 2 in both directions switches to INTER_AREA's
//     fast path, (a+b+c+d+2) >> 2.

const (
	cvCoefBits  = 11
	cvCoefScale = 1 << cvCoefBits
)

// cvAxis holds, for each output position, the first source index and the two
// fixed-point weights.
type cvAxis struct {
	ofs    []int
	w0, w1 []int32
}

// newCVAxis computes the coefficient table for one axis. clampEdges applies
// the horizontal pass's edge rule (weight (2048, 0) on the border pixel); the
// vertical pass keeps its raw weights and clamps row indices instead.
func newCVAxis(src, dst int, clampEdges bool) cvAxis {
	scale := 1 / (float64(dst) / float64(src))
	a := cvAxis{ofs: make([]int, dst), w0: make([]int32, dst), w1: make([]int32, dst)}
	for d := range dst {
		f := float32((float64(d)+0.5)*scale - 0.5)
		s := int(math.Floor(float64(f)))
		f -= float32(s)
		if clampEdges {
			if s < 0 {
				f, s = 0, 0
			}
			if s >= src-1 {
				f, s = 0, src-1
			}
		}
		a.ofs[d] = s
		a.w0[d] = int32(math.RoundToEven(float64((1 - f) * cvCoefScale)))
		a.w1[d] = int32(math.RoundToEven(float64(f * cvCoefScale)))
	}
	return a
}

// span returns the source indices [first, end) that outputs lo..hi-1 read:
// each its own index and the next, clamped to the n source samples.
func (a cvAxis) span(lo, hi, n int) (int, int) {
	first, last := n-1, 0
	for d := lo; d < hi; d++ {
		first = min(first, clampIndex(a.ofs[d], n))
		last = max(last, clampIndex(a.ofs[d]+1, n))
	}
	return first, last + 1
}

func clampIndex(i, n int) int { return max(0, min(i, n-1)) }

// cvResize is ResizeCV from a srcW x srcH image, restricted to the output
// window win.
type cvResize struct {
	srcW, srcH int
	win, src   image.Rectangle // src: the source pixels win reads
	half       bool            // INTER_AREA's exact 2x downscale
	xs, ys     cvAxis          // the bilinear tables, unset for a copy or half
}

func newCVResize(srcW, srcH, w, h int, win image.Rectangle) *cvResize {
	r := &cvResize{srcW: srcW, srcH: srcH, win: win}
	switch {
	case w == srcW && h == srcH:
		r.src = win
	case srcW == 2*w && srcH == 2*h:
		r.half = true
		r.src = image.Rect(2*win.Min.X, 2*win.Min.Y, 2*win.Max.X, 2*win.Max.Y)
	default:
		r.xs, r.ys = newCVAxis(srcW, w, true), newCVAxis(srcH, h, false)
		x0, x1 := r.xs.span(win.Min.X, win.Max.X, srcW)
		y0, y1 := r.ys.span(win.Min.Y, win.Max.Y, srcH)
		r.src = image.Rect(x0, y0, x1, y1)
	}
	return r
}

func (r *cvResize) source() image.Rectangle { return r.src }

func (r *cvResize) apply(v view) *RGB {
	switch {
	case r.half:
		return r.areaHalf(v)
	case r.xs.ofs == nil:
		return v.copyRect(r.win)
	}
	return r.bilinear(v)
}

// ResizeCV resizes like cv2.resize(src, (w, h), interpolation=cv2.INTER_LINEAR).
func ResizeCV(src *RGB, w, h int) (*RGB, error) {
	if err := checkResize(src, w, h); err != nil {
		return nil, err
	}
	return newCVResize(src.W, src.H, w, h, fullWindow(w, h)).apply(wholeView(src)), nil
}

func (r *cvResize) bilinear(v view) *RGB {
	win := r.win
	width := 3 * win.Dx()
	out := NewRGB(win.Dx(), win.Dy())
	rows := [2][]int32{make([]int32, width), make([]int32, width)}
	rowID := [2]int{-1, -1}
	for dy := win.Min.Y; dy < win.Max.Y; dy++ {
		sy := r.ys.ofs[dy]
		r0, r1 := clampIndex(sy, r.srcH), clampIndex(sy+1, r.srcH)
		// Reuse rows the previous output row already computed.
		if rowID[0] != r0 && rowID[1] == r0 {
			rows[0], rows[1] = rows[1], rows[0]
			rowID[0], rowID[1] = rowID[1], rowID[0]
		}
		if rowID[0] != r0 {
			r.hresize(rows[0], v, r0)
			rowID[0] = r0
		}
		if rowID[1] != r1 {
			if r1 == r0 {
				copy(rows[1], rows[0])
			} else {
				r.hresize(rows[1], v, r1)
			}
			rowID[1] = r1
		}
		b0, b1 := r.ys.w0[dy], r.ys.w1[dy]
		d := out.Pix[(dy-win.Min.Y)*width : (dy-win.Min.Y+1)*width]
		S0, S1 := rows[0], rows[1]
		for x := range d {
			t := (S0[x]>>4)*b0>>16 + (S1[x]>>4)*b1>>16
			d[x] = uint8(max(0, min(255, (t+2)>>2)))
		}
	}
	return out
}

// hresize is the horizontal pass over source row sy, for the window's
// columns.
func (r *cvResize) hresize(buf []int32, v view, sy int) {
	s := v.row(v.x0, sy)
	for i, dx := 0, r.win.Min.X; dx < r.win.Max.X; i, dx = i+1, dx+1 {
		o := r.xs.ofs[dx]
		n := min(o+1, r.srcW-1)
		o, n = 3*(o-v.x0), 3*(n-v.x0)
		a0, a1 := r.xs.w0[dx], r.xs.w1[dx]
		for k := range 3 {
			buf[3*i+k] = int32(s[o+k])*a0 + int32(s[n+k])*a1
		}
	}
}

// areaHalf is OpenCV's INTER_AREA fast path for an exact 2x downscale.
func (r *cvResize) areaHalf(v view) *RGB {
	win := r.win
	w := win.Dx()
	out := NewRGB(w, win.Dy())
	for y := win.Min.Y; y < win.Max.Y; y++ {
		r0 := v.row(2*win.Min.X, 2*y)
		r1 := v.row(2*win.Min.X, 2*y+1)
		d := out.Pix[(y-win.Min.Y)*3*w:]
		for x := range w {
			for k := range 3 {
				i := 6*x + k
				d[3*x+k] = uint8((int(r0[i]) + int(r0[i+3]) + int(r1[i]) + int(r1[i+3]) + 2) >> 2)
			}
		}
	}
	return out
}
