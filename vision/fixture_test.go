package vision

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Fixtures from testdata/vision/gen.py (OpenCV 4.6, Pillow 9.4, torch 1.13).

const fixtureDir = "../testdata/vision"

type span [2]int // offset, length in the blob

type manifest struct {
	Resize []struct {
		Algo string
		Src  [3]int
		Dst  [2]int
		U8   span
	}
	Pipeline []struct {
		Mode        Mode
		Src         [3]int
		Short, Crop int
		U8          span
		F32         *span
	}
	Decode []struct {
		File string
		Ref  string
		W, H int
		U8   span
	}
	JPEGPipeline []struct {
		File        string
		Mode        Mode
		Short, Crop int
		U8          span
	} `json:"jpeg_pipeline"`
}

var (
	fixOnce sync.Once
	fixMan  manifest
	fixBlob []byte
	fixErr  error
)

func loadFixtures(t *testing.T) (*manifest, []byte) {
	t.Helper()
	fixOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join(fixtureDir, "manifest.json"))
		if err != nil {
			fixErr = err
			return
		}
		if fixErr = json.Unmarshal(b, &fixMan); fixErr != nil {
			return
		}
		f, err := os.Open(filepath.Join(fixtureDir, "expected.bin.gz"))
		if err != nil {
			fixErr = err
			return
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			fixErr = err
			return
		}
		fixBlob, fixErr = io.ReadAll(z)
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return &fixMan, fixBlob
}

func (s span) bytes(blob []byte) []byte { return blob[s[0] : s[0]+s[1]] }

// synth is gen.py's synth(): gradients, hashed noise and a checker pattern.
func synth(w, h, seed int) *RGB {
	m := NewRGB(w, h)
	for y := range h {
		for x := range w {
			n := uint32(x)*73856093 ^ uint32(y)*19349663 ^ uint32(seed)*83492791
			n *= 2654435761
			chk := ((x/7 + y/5) % 2) * 48
			base := [3]int{x * 255 / max(w-1, 1), y * 255 / max(h-1, 1), (x + y) * 255 / max(w+h-2, 1)}
			for c := range 3 {
				noise := int((n>>(8*c+2))&63) - 32
				v := base[c] + noise + chk
				if c == 1 {
					v = base[c] + noise - chk
				}
				m.Pix[3*(y*w+x)+c] = uint8(max(0, min(255, v)))
			}
		}
	}
	return m
}

// diff returns the number of differing bytes and the largest difference.
func diff(got, want []uint8) (n, maxd int) {
	for i := range want {
		d := int(got[i]) - int(want[i])
		if d < 0 {
			d = -d
		}
		if d != 0 {
			n++
			maxd = max(maxd, d)
		}
	}
	return n, maxd
}

func TestResizeFixtures(t *testing.T) {
	man, blob := loadFixtures(t)
	for _, c := range man.Resize {
		src := synth(c.Src[0], c.Src[1], c.Src[2])
		var got *RGB
		var err error
		if c.Algo == "cv" {
			got, err = ResizeCV(src, c.Dst[0], c.Dst[1])
		} else {
			got, err = ResizePIL(src, c.Dst[0], c.Dst[1])
		}
		if err != nil {
			t.Fatal(err)
		}
		want := c.U8.bytes(blob)
		if len(got.Pix) != len(want) {
			t.Fatalf("%s %v->%v: %d bytes, want %d", c.Algo, c.Src, c.Dst, len(got.Pix), len(want))
		}
		if n, m := diff(got.Pix, want); n != 0 {
			t.Errorf("%s %dx%d->%dx%d: %d of %d bytes differ, max %d", c.Algo, c.Src[0], c.Src[1], c.Dst[0], c.Dst[1], n, len(want), m)
		}
	}
}

func TestPipelineFixtures(t *testing.T) {
	man, blob := loadFixtures(t)
	for _, c := range man.Pipeline {
		opt := Options{Mode: c.Mode, ResizeShort: c.Short, Crop: c.Crop}
		src := synth(c.Src[0], c.Src[1], c.Src[2])
		got, err := ResizeCrop(src, opt)
		if err != nil {
			t.Fatal(err)
		}
		if n, m := diff(got.Pix, c.U8.bytes(blob)); n != 0 {
			t.Errorf("%s %dx%d: %d bytes differ, max %d", c.Mode, c.Src[0], c.Src[1], n, m)
		}
		if c.F32 == nil {
			continue
		}
		dst := make([]float32, 3*c.Crop*c.Crop)
		if err := PreprocessInto(dst, src, opt); err != nil {
			t.Fatal(err)
		}
		want := c.F32.bytes(blob)
		bad := 0
		for i := range dst {
			if math.Float32bits(dst[i]) != binary.LittleEndian.Uint32(want[4*i:]) {
				bad++
			}
		}
		if bad != 0 {
			t.Errorf("%s %dx%d: %d of %d floats differ from the reference bitwise", c.Mode, c.Src[0], c.Src[1], bad, len(dst))
		}
	}
}

func TestDecodeFixtures(t *testing.T) {
	man, blob := loadFixtures(t)
	for _, c := range man.Decode {
		data, err := os.ReadFile(filepath.Join(fixtureDir, c.File))
		if err != nil {
			t.Fatal(err)
		}
		opt := Options{Mode: ModePaddle}
		if c.Ref == "pil" {
			opt.Mode = ModeTimm
		}
		got, err := DecodeBytes(data, opt)
		if err != nil {
			t.Errorf("%s: %v", c.File, err)
			continue
		}
		if got.W != c.W || got.H != c.H {
			t.Errorf("%s (%s): decoded %dx%d, want %dx%d", c.File, c.Ref, got.W, got.H, c.W, c.H)
			continue
		}
		want := c.U8.bytes(blob)
		if strings.HasPrefix(filepath.Base(c.File), "truncated") {
			// OpenCV repeats the last row it got once libjpeg suspends at the
			// end of the data; only the rows before the cut are comparable.
			n := 3 * c.W * 8
			got.Pix, want = got.Pix[:n], want[:n]
		}
		n, m := diff(got.Pix, want)
		if n != 0 {
			t.Errorf("%s (%s): %d of %d bytes differ, max %d", c.File, c.Ref, n, len(want), m)
		}
	}
}

func TestJPEGPipelineFixtures(t *testing.T) {
	man, blob := loadFixtures(t)
	for _, c := range man.JPEGPipeline {
		data, err := os.ReadFile(filepath.Join(fixtureDir, c.File))
		if err != nil {
			t.Fatal(err)
		}
		opt := Options{Mode: c.Mode, ResizeShort: c.Short, Crop: c.Crop}
		m, err := Decode(bytes.NewReader(data), opt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ResizeCrop(m, opt)
		if err != nil {
			t.Fatal(err)
		}
		if n, md := diff(got.Pix, c.U8.bytes(blob)); n != 0 {
			t.Errorf("%s %s: %d of %d bytes differ, max %d", c.File, c.Mode, n, len(got.Pix), md)
		}
	}
}
