package vision

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// Camera-like photos from testdata/vision/photos/gen.py, with what OpenCV 4.6
// (libjpeg-turbo 2.1) decodes them to at full size and with libjpeg's scaled
// decoding (IMREAD_REDUCED_COLOR_2, _4, _8).

const photoDir = "../testdata/vision/photos"

type photoCase struct {
	File   string
	Scale  int // 1, 2, 4 or 8: the decode is 1/Scale of the full size
	W, H   int
	U8     span
	Paddle *struct {
		Short, Crop int
		U8          span
	}
}

func loadPhotoFixtures(t testing.TB) ([]photoCase, []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(photoDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man struct{ Decode []photoCase }
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(photoDir, "expected.bin.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return man.Decode, blob
}

// TestPhotoFixtures holds the full-size decoder to libjpeg-turbo's output on
// camera-like photos, bit for bit.
func TestPhotoFixtures(t *testing.T) {
	cases, blob := loadPhotoFixtures(t)
	for _, c := range cases {
		if c.Scale != 1 {
			continue
		}
		data, err := os.ReadFile(filepath.Join(photoDir, c.File))
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeBytes(data, Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.File, err)
		}
		if got.W != c.W || got.H != c.H {
			t.Fatalf("%s: decoded %dx%d, want %dx%d", c.File, got.W, got.H, c.W, c.H)
		}
		if n, m := diff(got.Pix, c.U8.bytes(blob)); n != 0 {
			t.Errorf("%s: %d of %d bytes differ, max %d", c.File, n, len(got.Pix), m)
		}
	}
}

// TestScaledDecodeFixtures holds draft decoding to libjpeg-turbo's scaled
// decoding (scale_denom 2, 4, 8) bit for bit, and the draft pipeline to
// PaddleClas's on those pixels.
func TestScaledDecodeFixtures(t *testing.T) {
	cases, blob := loadPhotoFixtures(t)
	pipelines := 0
	for _, c := range cases {
		if c.Scale == 1 {
			continue
		}
		data, err := os.ReadFile(filepath.Join(photoDir, c.File))
		if err != nil {
			t.Fatal(err)
		}
		// The draft target that picks this scale: the scaled short side.
		jo := jpegOptions{maxPixels: DefaultMaxPixels, orientation: JPEGOrientation(data), draftShort: min(c.W, c.H)}
		got, err := decodeJPEG(data, jo)
		if err != nil {
			t.Fatalf("%s: %v", c.File, err)
		}
		if got.W != c.W || got.H != c.H {
			t.Fatalf("%s 1/%d: decoded %dx%d, want %dx%d", c.File, c.Scale, got.W, got.H, c.W, c.H)
		}
		if n, m := diff(got.Pix, c.U8.bytes(blob)); n != 0 {
			t.Errorf("%s 1/%d: %d of %d bytes differ, max %d", c.File, c.Scale, n, len(got.Pix), m)
		}
		if c.Paddle == nil {
			continue
		}
		opt := Options{Draft: true, ResizeShort: c.Paddle.Short, Crop: c.Paddle.Crop}
		m, err := DecodeBytes(data, opt)
		if err != nil {
			t.Fatal(err)
		}
		if m.W != c.W || m.H != c.H {
			continue // draft picks another scale for this resize target
		}
		crop, err := ResizeCrop(m, opt)
		if err != nil {
			t.Fatal(err)
		}
		if n, md := diff(crop.Pix, c.Paddle.U8.bytes(blob)); n != 0 {
			t.Errorf("%s draft 1/%d pipeline: %d bytes differ, max %d", c.File, c.Scale, n, md)
		}
		pipelines++
	}
	if pipelines == 0 {
		t.Error("no draft pipeline case matched the scale draft mode chose")
	}
}

// TestDraftOffByDefault checks that the zero Options decode at full size and
// that Draft picks the smallest scale keeping the short side at least twice
// the resize target.
func TestDraftOffByDefault(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(photoDir, "images", "chelsea_q90_o6.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opt  Options
		w, h int
	}{
		{Options{}, 227, 301},
		{Options{ResizeShort: 16}, 227, 301},
		{Options{Draft: true}, 227, 301},                  // 2 x 256 > 227: no scale fits
		{Options{Draft: true, ResizeShort: 58}, 227, 301}, // 1/2 would give 114 < 116
		{Options{Draft: true, ResizeShort: 57}, 114, 151}, // 1/2: 114 >= 114
		{Options{Draft: true, ResizeShort: 16}, 57, 76},   // 1/4: 57 >= 32, 1/8 would give 29
		{Options{Draft: true, ResizeShort: 14}, 29, 38},   // 1/8: 29 >= 28
	} {
		m, err := DecodeBytes(data, c.opt)
		if err != nil {
			t.Fatal(err)
		}
		if m.W != c.w || m.H != c.h {
			t.Errorf("%+v: decoded %dx%d, want %dx%d", c.opt, m.W, m.H, c.w, c.h)
		}
	}
}
