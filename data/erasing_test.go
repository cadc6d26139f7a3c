package data

import (
	"math"
	"strings"
	"testing"

	"github.com/dla-go/dla/vision"
)

// erased runs a 24x16 grey image through NormalizeImage (to 1.0) and e, and
// returns the erased rectangle (values != 1) as top, left, height, width.
func erased(t *testing.T, e RandomErasing, seed uint64, index int) (vals []float32, top, left, h, w int) {
	t.Helper()
	p, err := Compile([]Op{DecodeImage{}, CropImage{24, 16}, NormalizeImage{Scale: 1, Std: [3]float32{1, 1, 1}}, e})
	if err != nil {
		t.Fatal(err)
	}
	img := vision.NewRGB(24, 16)
	for i := range img.Pix {
		img.Pix[i] = 1
	}
	vals = make([]float32, 3*16*24)
	if err := p.Transform(seed, 0)(vals, img, index); err != nil {
		t.Fatal(err)
	}
	top, left, bottom, right := 16, 24, -1, -1
	for c := range 3 {
		for y := range 16 {
			for x := range 24 {
				if vals[(c*16+y)*24+x] != 1 {
					top, left, bottom, right = min(top, y), min(left, x), max(bottom, y), max(right, x)
				}
			}
		}
	}
	if bottom < 0 {
		return vals, 0, 0, 0, 0
	}
	return vals, top, left, bottom - top + 1, right - left + 1
}

func TestRandomErasing(t *testing.T) {
	e := RandomErasing{vision.RandErase{Epsilon: 1, SL: 0.1, SH: 0.3, R1: 0.5, Attempt: 100, Mean: [3]float32{0.25, 0.5, 0.75}, Mode: "const"}}
	positions := map[[2]int]bool{}
	for i := range 50 {
		vals, top, left, h, w := erased(t, e, 7, i)
		// One rectangle, within the area and aspect bounds (after rounding),
		// filled with each channel's mean.
		area := float64(h * w)
		if h == 0 || area < 0.1*384*0.7 || area > 0.3*384*1.3 || float64(h)/float64(w) > 2.6 || float64(w)/float64(h) > 2.6 {
			t.Fatalf("item %d: erased %dx%d at (%d, %d)", i, h, w, top, left)
		}
		for c := range 3 {
			for y := top; y < top+h; y++ {
				for x := left; x < left+w; x++ {
					if v := vals[(c*16+y)*24+x]; v != e.Mean[c] {
						t.Fatalf("item %d: channel %d at (%d, %d) is %v, want %v", i, c, y, x, v, e.Mean[c])
					}
				}
			}
		}
		positions[[2]int{top, left}] = true
		again, _, _, _, _ := erased(t, e, 7, i)
		for j := range vals {
			if vals[j] != again[j] {
				t.Fatalf("item %d erases differently on a second run", i)
			}
		}
	}
	if len(positions) < 10 {
		t.Errorf("50 items erased at only %d positions", len(positions))
	}

	// Epsilon is the probability of erasing.
	e.Epsilon = 0.3
	n := 0
	for i := range 400 {
		if _, _, _, h, _ := erased(t, e, 3, i); h > 0 {
			n++
		}
	}
	if n < 80 || n > 160 {
		t.Errorf("Epsilon 0.3 erased %d of 400", n)
	}

	// A rectangle that never fits erases nothing.
	e.Epsilon, e.SL, e.SH = 1, 1, 1
	if _, _, _, h, _ := erased(t, e, 3, 0); h != 0 {
		t.Error("a rectangle the size of the image was erased")
	}

	// "pixel" fills with standard normal values.
	e = RandomErasing{vision.RandErase{Epsilon: 1, SL: 0.3, SH: 0.4, R1: 0.5, Attempt: 100, Mode: "pixel"}}
	vals, top, left, h, w := erased(t, e, 5, 0)
	var sum, sq float64
	cnt := 0
	for c := range 3 {
		for y := top; y < top+h; y++ {
			for x := left; x < left+w; x++ {
				v := float64(vals[(c*16+y)*24+x])
				sum, sq, cnt = sum+v, sq+v*v, cnt+1
			}
		}
	}
	if m, sd := sum/float64(cnt), math.Sqrt(sq/float64(cnt)-sum*sum/float64(cnt*cnt)); math.Abs(m) > 0.25 || math.Abs(sd-1) > 0.25 {
		t.Errorf("pixel mode: mean %.3f, sd %.3f over %d values", m, sd, cnt)
	}
}

func TestRandomErasingCompile(t *testing.T) {
	norm := NormalizeImage{Scale: 1, Std: [3]float32{1, 1, 1}}
	ok := RandomErasing{vision.RandErase{Epsilon: 0.5, SL: 0.02, SH: 0.4, R1: 0.3, Attempt: 10, Mode: "const"}}
	bad := func(f func(*RandomErasing)) RandomErasing { e := ok; f(&e); return e }
	for _, c := range []struct {
		ops []Op
		err string
	}{
		{[]Op{DecodeImage{}, CropImage{8, 8}, ok, norm}, "op 2 (RandomErasing): RandomErasing must come first or last"},
		{[]Op{DecodeImage{}, CropImage{8, 8}, norm, bad(func(e *RandomErasing) { e.Mode = "noise" })}, `mode "noise"`},
		{[]Op{DecodeImage{}, CropImage{8, 8}, norm, bad(func(e *RandomErasing) { e.R1 = 0 })}, "r1=0"},
		{[]Op{DecodeImage{}, CropImage{8, 8}, norm, bad(func(e *RandomErasing) { e.SH = math.NaN() })}, "non-finite"},
		{[]Op{DecodeImage{}, CropImage{8, 8}, norm, ok, ok}, ""},
	} {
		_, err := Compile(c.ops)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%v: err = %v, want %q", c.ops, err, c.err)
		}
	}
	p, err := Compile([]Op{DecodeImage{}, ResizeImage{ResizeShort: 36}, CropImage{32, 32}, NormalizeImage{Scale: 1, Mean: [3]float32{1, 1, 1}, Std: [3]float32{1, 1, 1}}, ok})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.EvalOptions(); err == nil {
		t.Error("a pipeline that erases has eval options")
	}
}
