package vision

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodeLimits(t *testing.T) {
	data := encodePNG(t, image.NewGray(image.Rect(0, 0, 100, 100)))
	if _, err := DecodeBytes(data, Options{MaxPixels: 9999}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("pixel cap: err = %v", err)
	}
	if _, err := DecodeBytes(data, Options{MaxPixels: 10000}); err != nil {
		t.Errorf("at the pixel cap: %v", err)
	}
	if _, err := Decode(bytes.NewReader(data), Options{MaxBytes: int64(len(data)) - 1}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("byte cap: err = %v", err)
	}
	if _, err := DecodeBytes([]byte("not an image"), Options{}); err == nil {
		t.Error("garbage decoded")
	}
	if err := checkSize(0, 5, 100); err == nil || !strings.Contains(err.Error(), "zero size") {
		t.Errorf("zero width: err = %v", err)
	}
	// A PNG header claiming a huge size is refused before decoding pixels.
	huge := append([]byte(nil), data...)
	binary.BigEndian.PutUint32(huge[16:], 1<<20)
	binary.BigEndian.PutUint32(huge[20:], 1<<20)
	if _, err := DecodeBytes(huge, Options{}); err == nil {
		t.Error("huge header decoded")
	}
}

func TestDecodeFile(t *testing.T) {
	m, err := DecodeFile(filepath.Join(fixtureDir, "images", "exif6.jpg"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.W != 23 || m.H != 37 {
		t.Errorf("EXIF 6 (paddle) gave %dx%d, want 23x37", m.W, m.H)
	}
	m, err = DecodeFile(filepath.Join(fixtureDir, "images", "exif6.jpg"), Options{Mode: ModeTimm})
	if err != nil {
		t.Fatal(err)
	}
	if m.W != 37 || m.H != 23 {
		t.Errorf("EXIF 6 (timm) gave %dx%d, want 37x23", m.W, m.H)
	}
	m, err = DecodeFile(filepath.Join(fixtureDir, "images", "exif6.jpg"), Options{Mode: ModeTimm, EXIF: EXIFApply})
	if err != nil || m.W != 23 {
		t.Errorf("EXIFApply in timm mode: %v %v", m, err)
	}
	if _, err := DecodeFile(filepath.Join(fixtureDir, "missing.png"), Options{}); err == nil {
		t.Error("missing file decoded")
	}
}

func TestCMYKStyles(t *testing.T) {
	if got := cmykToRGB(255, 0, CMYKOpenCV); got != 1 {
		t.Errorf("OpenCV c=255 k=0: %d, want 1", got)
	}
	if got := cmykToRGB(255, 0, CMYKPillow); got != 0 {
		t.Errorf("Pillow c=255 k=0: %d, want 0", got)
	}
	// Each style must be closer to its own reference decoder.
	man, blob := loadFixtures(t)
	data, err := os.ReadFile(filepath.Join(fixtureDir, "images", "cmyk.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range man.Decode {
		if c.File != "images/cmyk.jpg" {
			continue
		}
		own, other := ModePaddle, ModeTimm
		if c.Ref == "pil" {
			own, other = other, own
		}
		a, _ := DecodeBytes(data, Options{Mode: own})
		b, _ := DecodeBytes(data, Options{Mode: other})
		na, _ := diff(a.Pix, c.U8.bytes(blob))
		nb, _ := diff(b.Pix, c.U8.bytes(blob))
		if na >= nb {
			t.Errorf("%s reference: own style differs in %d bytes, the other in %d", c.Ref, na, nb)
		}
	}
}

func TestToRGB(t *testing.T) {
	// Premultiplied input with transparency is un-premultiplied.
	m := image.NewRGBA(image.Rect(0, 0, 2, 1))
	m.SetRGBA(0, 0, color.RGBA{50, 100, 0, 128})
	m.SetRGBA(1, 0, color.RGBA{10, 20, 30, 255})
	r, err := ToRGB(m, CMYKOpenCV)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint8{99, 199, 0, 10, 20, 30}; !bytes.Equal(r.Pix, want) {
		t.Errorf("RGBA: %v, want %v", r.Pix, want)
	}
	g := image.NewGray16(image.Rect(0, 0, 1, 1))
	g.SetGray16(0, 0, color.Gray16{0xabcd})
	if r, _ := ToRGB(g, CMYKOpenCV); !bytes.Equal(r.Pix, []uint8{0xab, 0xab, 0xab}) {
		t.Errorf("Gray16: %v", r.Pix)
	}
	// A sub-image keeps its own origin.
	s := synth(9, 7, 3)
	sub := image.NewNRGBA(image.Rect(0, 0, 9, 7))
	for y := range 7 {
		for x := range 9 {
			p := s.Pix[3*(y*9+x):]
			sub.SetNRGBA(x, y, color.NRGBA{p[0], p[1], p[2], 7})
		}
	}
	r, err = ToRGB(sub.SubImage(image.Rect(2, 3, 5, 7)), CMYKOpenCV)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Crop(s, 2, 3, 3, 4)
	if !bytes.Equal(r.Pix, want.Pix) {
		t.Error("NRGBA sub-image converted wrongly")
	}
	if _, err := ToRGB(image.NewRGBA(image.Rect(0, 0, 0, 3)), CMYKOpenCV); err == nil {
		t.Error("empty image converted")
	}
	if _, err := ToRGB(&RGB{W: 2, H: 2, Pix: make([]uint8, 5)}, CMYKOpenCV); err == nil {
		t.Error("malformed RGB converted")
	}
}

func TestExifOrientation(t *testing.T) {
	ifd := func(bo binary.AppendByteOrder, magic string, typ uint16, val uint16) []byte {
		b := []byte(magic)
		b = bo.AppendUint32(b, 8)
		b = bo.AppendUint16(b, 2)
		b = bo.AppendUint16(b, 0x010f) // Make, ignored
		b = bo.AppendUint16(b, 2)
		b = bo.AppendUint32(b, 4)
		b = bo.AppendUint32(b, 0)
		b = bo.AppendUint16(b, 0x0112)
		b = bo.AppendUint16(b, typ)
		b = bo.AppendUint32(b, 1)
		b = bo.AppendUint16(b, val)
		return append(b, 0, 0)
	}
	cases := []struct {
		b    []byte
		want int
	}{
		{ifd(binary.LittleEndian, "II*\x00", 3, 6), 6},
		{ifd(binary.BigEndian, "MM\x00*", 3, 8), 8},
		{ifd(binary.BigEndian, "MM\x00*", 4, 8), 1},         // wrong type
		{ifd(binary.BigEndian, "MM\x00*", 3, 9), 1},         // out of range
		{ifd(binary.BigEndian, "MM\x00*", 3, 0), 1},         // out of range
		{ifd(binary.BigEndian, "II*\x00", 3, 6), 1},         // byte order mismatch
		{ifd(binary.LittleEndian, "II*\x00", 3, 6)[:20], 1}, // truncated
		{nil, 1},
	}
	for i, c := range cases {
		if got := ExifOrientation(c.b); got != c.want {
			t.Errorf("case %d: %d, want %d", i, got, c.want)
		}
	}
	// Wrapped in a JPEG APP1 segment, after an APP0 and fill bytes.
	tiff := ifd(binary.LittleEndian, "II*\x00", 3, 3)
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	j := []byte{0xff, 0xd8, 0xff, 0xe0, 0, 4, 1, 2, 0xff, 0xff, 0xe1}
	j = binary.BigEndian.AppendUint16(j, uint16(len(app1)+2))
	j = append(j, app1...)
	j = append(j, 0xff, 0xda, 0, 2)
	if got := JPEGOrientation(j); got != 3 {
		t.Errorf("JPEG: %d, want 3", got)
	}
	if got := JPEGOrientation(j[:20]); got != 1 {
		t.Errorf("truncated JPEG: %d, want 1", got)
	}
	png6, err := os.ReadFile(filepath.Join(fixtureDir, "images", "exif6.png"))
	if err != nil {
		t.Fatal(err)
	}
	if got := PNGOrientation(png6); got != 6 {
		t.Errorf("PNG eXIf: %d, want 6", got)
	}
}

func TestOrient(t *testing.T) {
	m := synth(5, 3, 1)
	inverse := map[int]int{2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}
	for o, inv := range inverse {
		r := Orient(Orient(m, o), inv)
		if r.W != m.W || !bytes.Equal(r.Pix, m.Pix) {
			t.Errorf("orientation %d then %d is not the identity", o, inv)
		}
	}
	// 6 is a clockwise quarter turn: the old bottom-left pixel is top-left.
	r := Orient(m, 6)
	if r.W != 3 || r.H != 5 || !bytes.Equal(r.Pix[:3], m.Pix[3*(2*5):3*(2*5)+3]) {
		t.Error("orientation 6 is not a clockwise rotation")
	}
	if Orient(m, 1) != m || Orient(m, 0) != m || Orient(m, 9) != m {
		t.Error("orientations outside 2..8 must not change the image")
	}
}

func TestSizes(t *testing.T) {
	cases := []struct {
		w, h, short int
		mode        Mode
		ww, wh      int
	}{
		{333, 500, 256, ModePaddle, 256, 384},
		{333, 500, 256, ModeTimm, 256, 384},
		{500, 333, 256, ModeTimm, 384, 256},
		{3, 2, 3, ModePaddle, 4, 3}, // 4.5 rounds half to even
		{2, 5, 3, ModePaddle, 3, 8}, // 7.5 rounds half to even
		{2, 5, 3, ModeTimm, 3, 7},   // truncated
		{1000, 750, 256, ModeTimm, 341, 256},
	}
	for _, c := range cases {
		if w, h := ResizeShortSize(c.w, c.h, c.short, c.mode); w != c.ww || h != c.wh {
			t.Errorf("%dx%d short %d %s: %dx%d, want %dx%d", c.w, c.h, c.short, c.mode, w, h, c.ww, c.wh)
		}
	}
	for _, c := range []struct {
		n, crop int
		mode    Mode
		want    int
	}{{229, 224, ModePaddle, 2}, {229, 224, ModeTimm, 2}, {231, 224, ModeTimm, 4}, {231, 224, ModePaddle, 3}} {
		if got := CenterCropOffset(c.n, c.crop, c.mode); got != c.want {
			t.Errorf("offset %d/%d %s: %d, want %d", c.n, c.crop, c.mode, got, c.want)
		}
	}
}

func TestPreprocess(t *testing.T) {
	m := synth(300, 200, 4)
	x, err := Preprocess(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 3, 224, 224}; !slices.Equal(x.Shape, want) {
		t.Errorf("shape %v, want %v", x.Shape, want)
	}
	// The same image as a standard library type gives the same tensor.
	n := image.NewNRGBA(image.Rect(0, 0, 300, 200))
	for i := range 300 * 200 {
		copy(n.Pix[4*i:4*i+3], m.Pix[3*i:3*i+3])
		n.Pix[4*i+3] = 255
	}
	y, err := Preprocess(n, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range x.Data {
		if x.Data[i] != y.Data[i] {
			t.Fatal("NRGBA input differs from RGB input")
		}
	}
	if _, err := Preprocess(m, Options{ResizeShort: 200, Crop: 224}); err == nil || !strings.Contains(err.Error(), "smaller than the") {
		t.Errorf("crop larger than the resized image: err = %v", err)
	}
	bad := []Options{{Mode: "cv2"}, {Crop: -1}, {EXIF: 7}, {Std: [3]float32{1, 0, 1}}, {Scale: float32(math.Inf(1))}}
	for _, o := range bad {
		if _, err := Preprocess(m, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	// The deploy configs' 0.00392157 is not float32(1/255): the scale must be used.
	z, err := Preprocess(m, Options{Scale: 0.00392157})
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for i := range z.Data {
		if z.Data[i] != x.Data[i] {
			changed++
		}
	}
	if changed == 0 {
		t.Error("Scale ignored")
	}
	if err := PreprocessInto(make([]float32, 10), m, Options{}); err == nil {
		t.Error("short destination accepted")
	}
	// An extreme aspect ratio whose resized long side exceeds the pixel cap.
	if _, err := ResizeCrop(synth(1, 3000, 1), Options{MaxPixels: 1 << 16}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("resize over the pixel cap: err = %v", err)
	}
}

func TestResizeErrors(t *testing.T) {
	m := synth(4, 4, 1)
	for _, f := range []func(*RGB, int, int) (*RGB, error){ResizeCV, ResizePIL} {
		if _, err := f(m, 0, 3); err == nil {
			t.Error("zero width accepted")
		}
		if _, err := f(&RGB{W: 3, H: 3, Pix: make([]uint8, 26)}, 2, 2); err == nil {
			t.Error("malformed source accepted")
		}
		r, err := f(m, 4, 4)
		if err != nil || !bytes.Equal(r.Pix, m.Pix) {
			t.Error("same-size resize is not a copy")
		}
	}
	if _, err := Crop(m, 1, 1, 4, 1); err == nil {
		t.Error("crop outside the image accepted")
	}
}

func TestAugment(t *testing.T) {
	m := synth(97, 61, 2)
	crop := DefaultRandCrop(224)
	run := func(seed uint64) []uint8 {
		out, err := crop.Apply(m, rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		return out.Pix
	}
	if a := run(1); !bytes.Equal(a, run(1)) || bytes.Equal(a, run(2)) {
		t.Error("the crop must depend on the draws alone")
	}
	// Crops fit extreme images; a crop that truncates to nothing fails, as
	// cv2.resize fails on it in PaddleClas.
	r := rand.New(rand.NewPCG(3, 3))
	for _, sz := range [][2]int{{2, 300}, {300, 2}, {5, 7}, {3, 3}} {
		for range 50 {
			out, err := crop.Apply(synth(sz[0], sz[1], 1), r)
			if err == nil && (out.W != 224 || out.H != 224) || err != nil && !strings.Contains(err.Error(), "random crop of") {
				t.Fatalf("%v: %v", sz, err)
			}
		}
	}
	if _, err := crop.Apply(synth(1, 1, 1), r); err == nil {
		t.Error("a crop of a 1x1 image, whose area truncates to nothing")
	}
	for _, bad := range []RandCrop{{W: 224}, {W: 4, H: 4, Scale: [2]float64{-1, 1}, Ratio: [2]float64{1, 1}},
		{W: 4, H: 4, Scale: [2]float64{1, 1}, Ratio: [2]float64{0, 1}}, {W: 4, H: 4, Scale: [2]float64{1, math.Inf(1)}, Ratio: [2]float64{1, 1}}} {
		if _, err := bad.Apply(m, r); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	f := synth(7, 3, 1)
	FlipHorizontal(f)
	if !bytes.Equal(f.Pix[:3], synth(7, 3, 1).Pix[18:21]) {
		t.Error("flip did not mirror")
	}
	FlipHorizontal(f)
	if !bytes.Equal(f.Pix, synth(7, 3, 1).Pix) {
		t.Error("double flip is not the identity")
	}
	FlipVertical(f)
	if !bytes.Equal(f.Pix[:21], synth(7, 3, 1).Pix[42:]) || !bytes.Equal(f.Pix[21:42], synth(7, 3, 1).Pix[21:42]) {
		t.Error("vertical flip did not mirror the rows")
	}
}

func BenchmarkPreprocess(b *testing.B) {
	m := synth(500, 375, 1)
	dst := make([]float32, 3*224*224)
	for _, mode := range []Mode{ModePaddle, ModeTimm} {
		b.Run(string(mode), func(b *testing.B) {
			for b.Loop() {
				if err := PreprocessInto(dst, m, Options{Mode: mode}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeJPEG(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(fixtureDir, "images", "big420.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := DecodeBytes(data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
