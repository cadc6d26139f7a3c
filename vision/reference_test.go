package vision

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Float references for the two fixed-point resizers, run on random odd
// shapes beyond the fixtures: the fixed-point results must stay within one
// grey level of the exact filters they quantise.

// refBilinear is OpenCV's INTER_LINEAR in float64: half-pixel centres,
// border samples repeated.
func refBilinear(src *RGB, w, h int) []float64 {
	out := make([]float64, 3*w*h)
	sx, sy := float64(src.W)/float64(w), float64(src.H)/float64(h)
	at := func(x, y, c int) float64 {
		x = max(0, min(x, src.W-1))
		y = max(0, min(y, src.H-1))
		return float64(src.Pix[3*(y*src.W+x)+c])
	}
	for y := range h {
		fy := (float64(y)+0.5)*sy - 0.5
		y0 := int(math.Floor(fy))
		ty := fy - float64(y0)
		for x := range w {
			fx := (float64(x)+0.5)*sx - 0.5
			x0 := int(math.Floor(fx))
			tx := fx - float64(x0)
			for c := range 3 {
				top := at(x0, y0, c)*(1-tx) + at(x0+1, y0, c)*tx
				bot := at(x0, y0+1, c)*(1-tx) + at(x0+1, y0+1, c)*tx
				out[3*(y*w+x)+c] = top*(1-ty) + bot*ty
			}
		}
	}
	return out
}

// refTriangle is Pillow's antialiased bilinear in float64, rounding to
// uint8 between the passes as Pillow does.
func refTriangle(src *RGB, w, h int) []float64 {
	// pass resamples lines of n samples (stride apart, lines lineStep apart)
	// to out samples each, returned line after line.
	pass := func(in []float64, n, lines, out int, stride, lineStep int) []float64 {
		scale := float64(n) / float64(out)
		fs := max(scale, 1)
		res := make([]float64, 0, lines*out)
		for l := range lines {
			for o := range out {
				center := (float64(o) + 0.5) * scale
				lo := max(int(center-fs+0.5), 0)
				hi := min(int(center+fs+0.5), n)
				var sum, ws float64
				for i := lo; i < hi; i++ {
					wt := math.Max(0, 1-math.Abs((float64(i)-center+0.5)/fs))
					sum += wt * in[l*lineStep+i*stride]
					ws += wt
				}
				res = append(res, math.Max(0, math.Min(255, math.Round(sum/ws))))
			}
		}
		return res
	}
	// Work per channel: rows first (as Pillow), then columns.
	out := make([]float64, 3*w*h)
	for c := range 3 {
		plane := make([]float64, src.W*src.H)
		for i := range plane {
			plane[i] = float64(src.Pix[3*i+c])
		}
		if w != src.W {
			plane = pass(plane, src.W, src.H, w, 1, src.W) // [H][w]
		}
		if h != src.H {
			cols := pass(plane, src.H, w, h, w, 1) // [w][h]
			plane = make([]float64, w*h)
			for x := range w {
				for y := range h {
					plane[y*w+x] = cols[x*h+y]
				}
			}
		}
		for i := range plane {
			out[3*i+c] = plane[i]
		}
	}
	return out
}

func TestResizeAgainstFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for i := range 40 {
		sw, sh := 1+r.IntN(90), 1+r.IntN(90)
		dw, dh := 1+r.IntN(120), 1+r.IntN(120)
		src := synth(sw, sh, i)
		cv, err := ResizeCV(src, dw, dh)
		if err != nil {
			t.Fatal(err)
		}
		pil, err := ResizePIL(src, dw, dh)
		if err != nil {
			t.Fatal(err)
		}
		for name, c := range map[string]struct {
			got  []uint8
			want []float64
		}{"cv": {cv.Pix, refBilinear(src, dw, dh)}, "pil": {pil.Pix, refTriangle(src, dw, dh)}} {
			worst := 0.0
			for k, v := range c.want {
				worst = math.Max(worst, math.Abs(float64(c.got[k])-v))
			}
			if worst > 1 {
				t.Errorf("%s %dx%d->%dx%d: off by %.2f from the float filter", name, sw, sh, dw, dh, worst)
			}
		}
	}
}
