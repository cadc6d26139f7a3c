package vision

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// TestStoredRect checks the orientation mapping against Orient: the
// upright image's rectangle is the oriented stored rectangle.
func TestStoredRect(t *testing.T) {
	m := synth(7, 4, 2)
	r := rand.New(rand.NewPCG(3, 9))
	for o := 1; o <= 8; o++ {
		up := Orient(m, o)
		for range 20 {
			x0, y0 := r.IntN(up.W), r.IntN(up.H)
			rect := image.Rect(x0, y0, x0+1+r.IntN(up.W-x0), y0+1+r.IntN(up.H-y0))
			s := storedRect(rect, o, m.W, m.H)
			got := Orient(wholeView(m).copyRect(s), o)
			if want := wholeView(up).copyRect(rect); !bytes.Equal(got.Pix, want.Pix) || got.W != want.W {
				t.Fatalf("orientation %d: %v maps to %v", o, rect, s)
			}
		}
	}
}

// exifJPEG returns the JPEG b with an EXIF APP1 segment holding orientation
// o ahead of its other segments, where JPEGOrientation finds it first.
func exifJPEG(b []byte, o int) []byte {
	tiff := []byte("II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00")
	tiff = binary.LittleEndian.AppendUint16(tiff, uint16(o))
	tiff = append(tiff, 0, 0, 0, 0, 0, 0)
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	out := []byte{0xff, 0xd8, 0xff, 0xe1}
	out = binary.BigEndian.AppendUint16(out, uint16(len(app1)+2))
	out = append(out, app1...)
	return append(out, b[2:]...)
}

// jpegFixtures are the JPEG fixtures of testdata/vision and of its photos,
// and JPEGs of image/jpeg at sizes those lack: single pixels, odd sizes,
// extreme aspect ratios, sides that halve exactly, grey.
func jpegFixtures(t testing.TB) map[string][]byte {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "images", "*.jpg"))
	photos, _ := filepath.Glob(filepath.Join(photoDir, "images", "*.jpg"))
	out := map[string][]byte{}
	for _, p := range append(files, photos...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	if len(out) < 20 {
		t.Fatalf("only %d JPEG fixtures", len(out))
	}
	for _, sz := range [][2]int{{1, 1}, {2, 3}, {5, 1}, {17, 9}, {9, 17}, {1, 40}, {300, 7}, {64, 48}, {96, 64}, {133, 100}} {
		var img image.Image = synth(sz[0], sz[1], sz[0])
		if sz[0] == 17 {
			g := image.NewGray(image.Rect(0, 0, sz[0], sz[1]))
			for i := range g.Pix {
				g.Pix[i] = uint8(i * 37)
			}
			img = g
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("synth_%dx%d.jpg", sz[0], sz[1])] = b.Bytes()
	}
	return out
}

// twoStep is the reference pipeline: decode the whole image, resize the
// whole image, crop, normalize.
func twoStep(dst []float32, b []byte, opt Options) error {
	if err := opt.Validate(); err != nil {
		return err
	}
	m, err := DecodeBytes(b, opt)
	if err != nil {
		return err
	}
	if _, err := planResizeCrop(m.W, m.H, opt); err != nil {
		return err // ResizeCrop's refusals, with its messages
	}
	mode, crop := opt.mode(), opt.crop()
	w, h := ResizeShortSize(m.W, m.H, opt.resizeShort(), mode)
	resize := ResizeCV
	if mode == ModeTimm {
		resize = ResizePIL
	}
	r, err := resize(m, w, h)
	if err != nil {
		return err
	}
	c, err := Crop(r, CenterCropOffset(w, crop, mode), CenterCropOffset(h, crop, mode), crop, crop)
	if err != nil {
		return err
	}
	return Normalize(dst, c, opt)
}

// geometries are resize and crop sizes for an image whose short side is s:
// resize to its own size, exact halving, downscales, an upscale, tiny
// outputs, and a crop larger than the resized image; with full, the
// default pipeline's too (an upscale of the small fixtures).
func geometries(s int, full bool) [][2]int {
	g := [][2]int{{s, s}, {max(s/2, 1), max(s/2, 1)}, {max(s*2/3, 1), max(s/3, 1)},
		{s + 7, s/2 + 1}, {3, 2}, {1, 1}, {s, s + 1}, {17, 17}, {max(s/4, 1), max(s/5, 1)}}
	if full {
		g = append(g, [2]int{256, 224})
	}
	slices.SortFunc(g, func(a, b [2]int) int { return a[0]*1000 + a[1] - b[0]*1000 - b[1] })
	return slices.Compact(g)
}

// checkSame runs PreprocessBytes and the reference on b and reports any
// difference, in the floats or in the errors, and whether both refused b.
func checkSame(b []byte, opt Options) (refused bool, err error) {
	n := 3 * opt.crop() * opt.crop()
	got, want := make([]float32, n), make([]float32, n)
	errGot, errWant := PreprocessBytes(got, b, opt), twoStep(want, b, opt)
	switch {
	case errGot != nil || errWant != nil:
		if fmt.Sprint(errGot) != fmt.Sprint(errWant) {
			return false, fmt.Errorf("error %v, the two steps' %v", errGot, errWant)
		}
		return true, nil
	case !slices.Equal(got, want):
		i := 0
		for got[i] == want[i] {
			i++
		}
		return false, fmt.Errorf("value %d (channel %d, y %d, x %d) is %v, the two steps' %v", i, i/(n/3), i%(n/3)/opt.crop(), i%opt.crop(), got[i], want[i])
	}
	return false, nil
}

// TestPreprocessBytesMatches holds PreprocessBytes to the two-step pipeline,
// bit for bit, on every JPEG fixture in both modes, with EXIF ignored and
// with each of the eight orientations applied, at many geometries.
func TestPreprocessBytesMatches(t *testing.T) {
	files := jpegFixtures(t)
	var runs, refused atomic.Int64
	t.Run("files", func(t *testing.T) {
		for name, b := range files {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
				if err != nil {
					t.Fatal(err)
				}
				short := min(cfg.Width, cfg.Height)
				for _, mode := range []Mode{ModePaddle, ModeTimm} {
					for o := 0; o <= 8; o++ { // 0: EXIF ignored
						data, exif := b, EXIFIgnore
						if o > 0 {
							data, exif = exifJPEG(b, o), EXIFApply
						}
						for _, g := range geometries(short, o == 0 || o == 6) {
							opt := Options{Mode: mode, ResizeShort: g[0], Crop: g[1], EXIF: exif}
							no, err := checkSame(data, opt)
							if err != nil {
								t.Fatalf("%s orientation %d resize %d crop %d: %v", mode, o, g[0], g[1], err)
							}
							runs.Add(1)
							if no {
								refused.Add(1)
							}
						}
					}
				}
			})
		}
	})
	if n, r := runs.Load(), refused.Load(); r == 0 || r > n/3 {
		t.Errorf("%d of %d runs failed: the geometries should refuse some and pass most", r, n)
	}
}

// TestRegionDecodeSkipsWork checks that a region decode runs fewer MCUs
// through the IDCT, stops reading the entropy-coded data early and makes
// just the region, whose pixels are those of the full decode.
func TestRegionDecodeSkipsWork(t *testing.T) {
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, synth(800, 600, 5), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	for _, o := range []int{1, 3, 6, 8} {
		data := exifJPEG(enc.Bytes(), o)
		rs, jo, ok := planRegion(data, Options{})
		if !ok {
			t.Fatal("no region plan for a plain JPEG")
		}
		region := &jpegDecoder{b: data, p: 2, opt: jo}
		m, err := region.decode()
		if err != nil {
			t.Fatal(err)
		}
		jo.region = image.Rectangle{}
		full := &jpegDecoder{b: data, p: 2, opt: jo}
		whole, err := full.decode()
		if err != nil {
			t.Fatal(err)
		}
		src := rs.source()
		if want := wholeView(whole).copyRect(src); m.W != want.W || m.H != want.H || !bytes.Equal(m.Pix, want.Pix) {
			t.Fatalf("orientation %d: the region %v differs from the full decode's", o, src)
		}
		if m.W*m.H*10 > whole.W*whole.H*6 {
			t.Errorf("orientation %d: the region is %dx%d of %dx%d", o, m.W, m.H, whole.W, whole.H)
		}
		if region.out.mcusOut*10 > full.out.mcusOut*7 {
			t.Errorf("orientation %d: %d MCUs through the IDCT, the full decode %d", o, region.out.mcusOut, full.out.mcusOut)
		}
		if region.p*100 > full.p*97 {
			t.Errorf("orientation %d: read %d bytes of %d", o, region.p, full.p)
		}
	}
}

func TestPreprocessFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	photo, err := os.ReadFile(filepath.Join(photoDir, "images", "chelsea_q90_o6.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	png, err := os.ReadFile(filepath.Join(fixtureDir, "images", "rgb8.png"))
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{ResizeShort: 32, Crop: 24}
	for _, f := range []struct {
		name string
		b    []byte
	}{{"photo.jpg", photo}, {"rgb8.png", png}} {
		p := write(f.name, f.b)
		got, want := make([]float32, 3*24*24), make([]float32, 3*24*24)
		if err := PreprocessFile(got, p, opt); err != nil {
			t.Fatal(err)
		}
		if err := twoStep(want, f.b, opt); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: PreprocessFile differs from the two steps", f.name)
		}
	}
	dst := make([]float32, 3*224*224)
	missing := filepath.Join(dir, "missing.jpg")
	if err := PreprocessFile(dst, missing, Options{}); !errors.Is(err, fs.ErrNotExist) || strings.Count(err.Error(), missing) != 1 {
		t.Errorf("missing file: %v", err)
	}
	for _, c := range []struct {
		name string
		b    []byte
		opt  Options
		want string
	}{
		{"text.jpg", []byte("not an image"), Options{}, ": vision: decode header:"},
		{"small.jpg", photo, Options{ResizeShort: 32, Crop: 40}, ": vision: 227x301 image resized to 32x42 is smaller than the 40 crop"},
		{"big.jpg", photo, Options{MaxBytes: 1000}, ": vision: image too large: more than 1000 bytes"},
		{"wide.jpg", photo, Options{MaxPixels: 20000}, ": vision: image too large: 301x227 is over 20000 pixels"},
	} {
		p := write(c.name, c.b)
		err := PreprocessFile(dst, p, c.opt)
		if err == nil || !strings.HasPrefix(err.Error(), p+c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %q, want it to start %q", c.name, err, p+c.want)
		}
	}
}
