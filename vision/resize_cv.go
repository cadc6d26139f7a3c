package vision

import (
	"fmt"
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

// ResizeCV resizes like cv2.resize(src, (w, h), interpolation=cv2.INTER_LINEAR).
func ResizeCV(src *RGB, w, h int) (*RGB, error) {
	if err := src.check(); err != nil {
		return nil, err
	}
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("vision: resize to %dx%d", w, h)
	}
	if w == src.W && h == src.H {
		return &RGB{W: w, H: h, Pix: append([]uint8(nil), src.Pix...)}, nil
	}
	if src.W == 2*w && src.H == 2*h {
		return areaHalf(src, w, h), nil
	}
	const cn = 3
	xs := newCVAxis(src.W, w, true)
	ys := newCVAxis(src.H, h, false)
	width := w * cn
	out := NewRGB(w, h)
	rows := [2][]int32{make([]int32, width), make([]int32, width)}
	rowID := [2]int{-1, -1}
	hresize := func(buf []int32, sy int) {
		s := src.Pix[sy*src.W*cn : (sy+1)*src.W*cn]
		last := (src.W - 1) * cn
		for dx := range w {
			o := xs.ofs[dx] * cn
			n := min(o+cn, last)
			a0, a1 := xs.w0[dx], xs.w1[dx]
			for k := range cn {
				buf[dx*cn+k] = int32(s[o+k])*a0 + int32(s[n+k])*a1
			}
		}
	}
	for dy := range h {
		sy := ys.ofs[dy]
		r0, r1 := max(0, min(sy, src.H-1)), max(0, min(sy+1, src.H-1))
		// Reuse rows the previous output row already computed.
		if rowID[0] != r0 && rowID[1] == r0 {
			rows[0], rows[1] = rows[1], rows[0]
			rowID[0], rowID[1] = rowID[1], rowID[0]
		}
		if rowID[0] != r0 {
			hresize(rows[0], r0)
			rowID[0] = r0
		}
		if rowID[1] != r1 {
			if r1 == r0 {
				copy(rows[1], rows[0])
			} else {
				hresize(rows[1], r1)
			}
			rowID[1] = r1
		}
		b0, b1 := ys.w0[dy], ys.w1[dy]
		d := out.Pix[dy*width : (dy+1)*width]
		S0, S1 := rows[0], rows[1]
		for x := range d {
			t := (S0[x]>>4)*b0>>16 + (S1[x]>>4)*b1>>16
			d[x] = uint8(max(0, min(255, (t+2)>>2)))
		}
	}
	return out, nil
}

// areaHalf is OpenCV's INTER_AREA fast path for an exact 2x downscale.
func areaHalf(src *RGB, w, h int) *RGB {
	out := NewRGB(w, h)
	sw := src.W * 3
	for y := range h {
		r0 := src.Pix[2*y*sw:]
		r1 := src.Pix[(2*y+1)*sw:]
		d := out.Pix[y*w*3:]
		for x := range w {
			for k := range 3 {
				i := 6*x + k
				d[3*x+k] = uint8((int(r0[i]) + int(r0[i+3]) + int(r1[i]) + int(r1[i+3]) + 2) >> 2)
			}
		}
	}
	return out
}
