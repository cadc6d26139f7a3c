package data

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/dla-go/dla/vision"
)

// Fixtures from testdata/data/gen.py (PaddleClas's op formulas on OpenCV 4.6).

type opsFixture struct {
	Boxes struct {
		Configs []struct {
			Scale, Ratio []float64
			LogAspect    bool `json:"log_aspect"`
		}
		Rows [][7]float64
	}
	Pipelines []struct {
		Kind        string
		W, H        int
		Src, Out    string
		Size        [2]int
		URatio      string `json:"u_ratio"`
		UScale      string `json:"u_scale"`
		X, Y, Flip  int
		FlipCode    int `json:"flip_code"`
		Short, Crop int
		Mean, Std   [3]float32
		Scale       string
	}
	Resize []struct {
		W, H, Short int
		Size        [2]int
	}
}

func loadOps(t *testing.T) *opsFixture {
	t.Helper()
	b, err := os.ReadFile("../testdata/data/ops.json")
	if err != nil {
		t.Fatal(err)
	}
	var f opsFixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return &f
}

func unb64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func float32s(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// scripted is a vision.Rand that returns fixed draws, checking the bounds
// of the integer ones.
type scripted struct {
	t      *testing.T
	floats []float64
	ints   [][2]int // value, the bound it is drawn under
}

func (s *scripted) Float64() float64 {
	if len(s.floats) == 0 {
		s.t.Fatal("unexpected Float64 draw")
	}
	f := s.floats[0]
	s.floats = s.floats[1:]
	return f
}

func (s *scripted) IntN(n int) int {
	if len(s.ints) == 0 {
		s.t.Fatalf("unexpected IntN(%d) draw", n)
	}
	v := s.ints[0]
	s.ints = s.ints[1:]
	if v[1] != n {
		s.t.Fatalf("IntN(%d), want IntN(%d)", n, v[1])
	}
	return v[0]
}

// TestRandCropBoxes compares RandCropImage's crop size with PaddleClas's
// formula for every fixture draw, including the draws where it fails.
func TestRandCropBoxes(t *testing.T) {
	f := loadOps(t)
	if len(f.Boxes.Rows) < 1000 {
		t.Fatalf("%d rows", len(f.Boxes.Rows))
	}
	for _, r := range f.Boxes.Rows {
		cfg := f.Boxes.Configs[int(r[0])]
		c := vision.RandCrop{W: 8, H: 8, Scale: [2]float64(cfg.Scale), Ratio: [2]float64(cfg.Ratio), LogAspect: cfg.LogAspect}
		w, h, err := c.Box(int(r[1]), int(r[2]), r[3], r[4])
		want := [2]int{int(r[5]), int(r[6])}
		if want == [2]int{} {
			if err == nil {
				t.Errorf("%+v on %vx%v with draws %v, %v: %dx%d, PaddleClas fails", cfg, r[1], r[2], r[3], r[4], w, h)
			}
		} else if err != nil || [2]int{w, h} != want {
			t.Errorf("%+v on %vx%v with draws %v, %v: %dx%d (%v), want %v", cfg, r[1], r[2], r[3], r[4], w, h, err, want)
		}
	}
}

func TestPipelineFixtures(t *testing.T) {
	f := loadOps(t)
	imagenet := NormalizeImage{Scale: float32(1.0 / 255.0), Mean: vision.ImageNetMean, Std: vision.ImageNetStd}
	for i, c := range f.Pipelines {
		src := &vision.RGB{W: c.W, H: c.H, Pix: unb64(t, c.Src)}
		want := float32s(unb64(t, c.Out))
		var ops []Op
		r := &scripted{t: t}
		switch c.Kind {
		case "train":
			crop := vision.DefaultRandCrop(0)
			crop.W, crop.H = c.Size[0], c.Size[1]
			ops = []Op{DecodeImage{}, RandCropImage{crop}, RandFlipImage{c.FlipCode}, imagenet}
			ur, _ := strconv.ParseFloat(c.URatio, 64)
			us, _ := strconv.ParseFloat(c.UScale, 64)
			cw, ch, err := crop.Box(c.W, c.H, ur, us)
			if err != nil {
				t.Fatal(err)
			}
			r.floats = []float64{ur, us}
			r.ints = [][2]int{{c.X, c.W - cw + 1}, {c.Y, c.H - ch + 1}, {c.Flip, 2}}
		case "eval":
			scale, _ := strconv.ParseFloat(c.Scale, 64)
			norm := NormalizeImage{Scale: float32(scale), Mean: c.Mean, Std: c.Std}
			ops = []Op{DecodeImage{}, ResizeImage{ResizeShort: c.Short}, CropImage{c.Crop, c.Crop}, norm}
		}
		p, err := Compile(ops)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := shapeLen(p.Shape()); n != len(want) {
			t.Fatalf("case %d: shape %v for %d values", i, p.Shape(), len(want))
		}
		got := make([]float32, len(want))
		if err := p.apply(got, src, r); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if len(r.floats)+len(r.ints) != 0 {
			t.Errorf("case %d: draws left over", i)
		}
		for k := range want {
			if got[k] != want[k] {
				t.Fatalf("case %d (%s %dx%d): value %d is %v, want %v", i, c.Kind, c.W, c.H, k, got[k], want[k])
			}
		}
		// The eval pipelines are what vision's eval preprocessing runs.
		if c.Kind == "eval" {
			opt, err := p.EvalOptions()
			if err != nil {
				t.Fatal(err)
			}
			dst := make([]float32, len(want))
			if err := vision.PreprocessInto(dst, src, opt); err != nil || !reflect.DeepEqual(dst, got) {
				t.Errorf("case %d: vision.PreprocessInto with %+v differs (%v)", i, opt, err)
			}
		}
	}
	for _, c := range f.Resize {
		if w, h := vision.ResizeShortSize(c.W, c.H, c.Short, vision.ModePaddle); [2]int{w, h} != c.Size {
			t.Errorf("resize_short %d of %dx%d: %dx%d, want %v", c.Short, c.W, c.H, w, h, c.Size)
		}
	}
}

func shapeLen(s []int) (int, bool) {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n, len(s) == 3
}

func TestCompile(t *testing.T) {
	norm := NormalizeImage{Scale: float32(1.0 / 255.0), Mean: vision.ImageNetMean, Std: vision.ImageNetStd}
	crop := RandCropImage{vision.DefaultRandCrop(32)}
	for _, c := range []struct {
		ops   []Op
		shape []int
		err   string
	}{
		{[]Op{DecodeImage{}, crop, RandFlipImage{1}, norm}, []int{3, 32, 32}, ""},
		{[]Op{DecodeImage{}, ResizeImage{W: 40, H: 30}, norm}, []int{3, 30, 40}, ""},
		{[]Op{DecodeImage{}, ResizeImage{W: 40, H: 30}, ResizeImage{ResizeShort: 60}, norm}, []int{3, 60, 80}, ""},
		{[]Op{DecodeImage{}, ResizeImage{ResizeShort: 36}, CropImage{32, 24}, RandFlipImage{0}, norm}, []int{3, 24, 32}, ""},
		{[]Op{DecodeImage{}, norm}, nil, "depends on the image"},
		{[]Op{DecodeImage{}, ResizeImage{ResizeShort: 36}, norm}, nil, "depends on the image"},
		{[]Op{crop, norm}, nil, "want DecodeImage first"},
		{[]Op{DecodeImage{}, crop}, nil, "want NormalizeImage last"},
		{[]Op{DecodeImage{}}, nil, "must start with DecodeImage"},
		{[]Op{DecodeImage{}, nil, norm}, nil, "op 1 is nil"},
		{[]Op{DecodeImage{}, crop, DecodeImage{}, norm}, nil, "op 2 (DecodeImage): DecodeImage must come first or last"},
		{[]Op{DecodeImage{}, crop, RandFlipImage{2}, norm}, nil, "flip code 2"},
		{[]Op{DecodeImage{}, ResizeImage{}, norm}, nil, "bad sizes"},
		{[]Op{DecodeImage{}, ResizeImage{W: 20, H: 20}, CropImage{32, 32}, norm}, nil, "32x32 crop of a 20x20 image"},
		{[]Op{DecodeImage{}, CropImage{0, 3}, norm}, nil, "bad size"},
		{[]Op{DecodeImage{}, RandCropImage{vision.RandCrop{W: 4, H: 4}}, norm}, nil, "bad random crop"},
		{[]Op{DecodeImage{}, crop, NormalizeImage{Scale: 1, Std: [3]float32{1, 0, 1}}}, nil, "has a zero"},
		{[]Op{DecodeImage{}, crop, NormalizeImage{Scale: float32(math.Inf(1)), Std: [3]float32{1, 1, 1}}}, nil, "non-finite"},
	} {
		p, err := Compile(c.ops)
		if c.err == "" {
			if err != nil || !reflect.DeepEqual(p.Shape(), c.shape) {
				t.Errorf("%v: shape %v, %v", c.ops, p.Shape(), err)
			}
		} else if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%v: err = %v, want %q", c.ops, err, c.err)
		}
	}
}

func TestEvalOptions(t *testing.T) {
	norm := NormalizeImage{Scale: float32(1.0 / 255.0), Mean: vision.ImageNetMean, Std: vision.ImageNetStd}
	for _, c := range []struct {
		ops  []Op
		want vision.Options
		err  string
	}{
		// PaddleClas's DLA eval ops are the default pipeline.
		{[]Op{DecodeImage{}, ResizeImage{ResizeShort: 256}, CropImage{224, 224}, norm}, vision.Options{}, ""},
		{[]Op{DecodeImage{}, ResizeImage{ResizeShort: 36}, CropImage{32, 32},
			NormalizeImage{Scale: 0.00392157, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.25, 0.25, 0.25}}},
			vision.Options{ResizeShort: 36, Crop: 32, Scale: 0.00392157, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.25, 0.25, 0.25}}, ""},
		{[]Op{DecodeImage{}, ResizeImage{ResizeShort: 36}, CropImage{32, 30}, norm}, vision.Options{}, "square CropImage"},
		{[]Op{DecodeImage{}, ResizeImage{W: 32, H: 32}, norm}, vision.Options{}, "resize_short"},
		{[]Op{DecodeImage{}, ResizeImage{ResizeShort: 36}, CropImage{32, 32}, RandFlipImage{1}, norm}, vision.Options{}, "resize_short"},
		{[]Op{DecodeImage{}, ResizeImage{ResizeShort: 36}, CropImage{32, 32}, NormalizeImage{Scale: 1, Std: [3]float32{1, 1, 1}}},
			vision.Options{}, "cannot be recorded"},
	} {
		p, err := Compile(c.ops)
		if err != nil {
			t.Fatal(err)
		}
		opt, err := p.EvalOptions()
		if c.err == "" && (err != nil || opt != c.want) || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%v: %+v, %v", c.ops, opt, err)
		}
	}
}

func TestTransformDraws(t *testing.T) {
	p, err := Compile([]Op{DecodeImage{}, RandCropImage{vision.DefaultRandCrop(16)}, RandFlipImage{-1},
		NormalizeImage{Scale: float32(1.0 / 255.0), Mean: vision.ImageNetMean, Std: vision.ImageNetStd}})
	if err != nil {
		t.Fatal(err)
	}
	src := vision.NewRGB(41, 29)
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 7)
	}
	run := func(seed uint64, epoch, index int) []float32 {
		dst := make([]float32, 3*16*16)
		img := &vision.RGB{W: src.W, H: src.H, Pix: append([]uint8(nil), src.Pix...)}
		if err := p.Transform(seed, epoch)(dst, img, index); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	a := run(1, 0, 5)
	if !reflect.DeepEqual(a, run(1, 0, 5)) {
		t.Error("the same (seed, epoch, item) draws differently")
	}
	for _, other := range [][3]int{{2, 0, 5}, {1, 1, 5}, {1, 0, 6}} {
		if reflect.DeepEqual(a, run(uint64(other[0]), other[1], other[2])) {
			t.Errorf("(seed, epoch, item) %v draws as (1, 0, 5)", other)
		}
	}
}

func TestFlips(t *testing.T) {
	m := &vision.RGB{W: 3, H: 2, Pix: []uint8{1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6}}
	for code, want := range map[int][]uint8{1: {3, 2, 1, 6, 5, 4}, 0: {4, 5, 6, 1, 2, 3}, -1: {6, 5, 4, 3, 2, 1}} {
		p, err := Compile([]Op{DecodeImage{}, RandFlipImage{code}, CropImage{3, 2}, NormalizeImage{Scale: 1, Std: [3]float32{1, 1, 1}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, flip := range []int{0, 1} {
			img := &vision.RGB{W: 3, H: 2, Pix: append([]uint8(nil), m.Pix...)}
			dst := make([]float32, 18)
			if err := p.apply(dst, img, &scripted{t: t, ints: [][2]int{{flip, 2}}}); err != nil {
				t.Fatal(err)
			}
			for i := range 6 {
				w := float32(m.Pix[3*i])
				if flip == 1 {
					w = float32(want[i])
				}
				if dst[i] != w {
					t.Errorf("flip code %d, draw %d: %v", code, flip, dst[:6])
					break
				}
			}
		}
	}
}

// BenchmarkTrainTransform is PaddleClas's DLA train pipeline on a decoded
// 500x375 image (random crop to 224, flip, normalisation), and the
// Fashion-MNIST-sized one (28x28 to 32x32).
func BenchmarkTrainTransform(b *testing.B) {
	norm := NormalizeImage{Scale: float32(1.0 / 255.0), Mean: vision.ImageNetMean, Std: vision.ImageNetStd}
	for _, c := range []struct {
		name       string
		w, h, size int
	}{{"500x375_to_224", 500, 375, 224}, {"28x28_to_32", 28, 28, 32}} {
		b.Run(c.name, func(b *testing.B) {
			p, err := Compile([]Op{DecodeImage{}, RandCropImage{vision.DefaultRandCrop(c.size)}, RandFlipImage{1}, norm})
			if err != nil {
				b.Fatal(err)
			}
			src := vision.NewRGB(c.w, c.h)
			for i := range src.Pix {
				src.Pix[i] = uint8(i * 31)
			}
			dst := make([]float32, 3*c.size*c.size)
			tr := p.Transform(1, 0)
			i := 0
			for b.Loop() {
				img := &vision.RGB{W: src.W, H: src.H, Pix: src.Pix}
				if err := tr(dst, img, i); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
