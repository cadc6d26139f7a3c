package vision

import (
	"os"
	"path/filepath"
	"testing"
)

// fuzzLimits keep each fuzz input fast and small whatever its header claims.
var fuzzLimits = Options{MaxPixels: 1 << 18, MaxBytes: 1 << 20}

func addImageSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "images", "*"))
	photos, _ := filepath.Glob(filepath.Join(photoDir, "images", "*"))
	files = append(files, photos...)
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 1<<14 {
			f.Add(b)
		}
	}
}

func FuzzDecode(f *testing.F) {
	addImageSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for i, mode := range []Mode{ModePaddle, ModeTimm} {
			opt := fuzzLimits
			opt.Mode = mode
			opt.Draft = i == 1 // scaled decoding when the image is large enough
			opt.ResizeShort = 16
			m, err := DecodeBytes(data, opt)
			if err != nil {
				continue
			}
			if m.W <= 0 || m.H <= 0 || int64(m.W)*int64(m.H) > opt.MaxPixels || len(m.Pix) != 3*m.W*m.H {
				t.Fatalf("decoded %dx%d with %d bytes", m.W, m.H, len(m.Pix))
			}
			opt.ResizeShort, opt.Crop = 8, 8
			_, _ = ResizeCrop(m, opt)
		}
	})
}

func FuzzExif(f *testing.F) {
	addImageSeeds(f)
	f.Add([]byte("II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, o := range []int{JPEGOrientation(data), PNGOrientation(data), ExifOrientation(data)} {
			if o < 1 || o > 8 {
				t.Fatalf("orientation %d", o)
			}
			m := Orient(synth(3, 2, 1), o)
			if m.W*m.H != 6 {
				t.Fatalf("orientation %d changed the pixel count", o)
			}
		}
	})
}

// FuzzPreprocessBytes holds the region path to the two steps: the same
// floats, or the same error.
func FuzzPreprocessBytes(f *testing.F) {
	addImageSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mode := range []Mode{ModePaddle, ModeTimm} {
			opt := fuzzLimits
			opt.Mode, opt.ResizeShort, opt.Crop, opt.EXIF = mode, 12, 10, EXIFApply
			if _, err := checkSame(data, opt); err != nil {
				t.Fatalf("%s: %v", mode, err)
			}
		}
	})
}
