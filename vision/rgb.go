// Package vision turns image files into the exact float tensors the DLA models
// were evaluated on: decoding with size limits and EXIF orientation, OpenCV- and
// Pillow-exact bilinear resizing on uint8, centre cropping, normalisation, and
// the PaddleClas training augmentations.
//
// Fidelity, measured against Debian's OpenCV 4.6 and Pillow 9.4 (both on
// libjpeg-turbo 2.1) by the fixtures in testdata/vision: both resizers, the
// full uint8 and float32 eval pipelines, and decoding of PNG (8/16-bit, grey,
// palette, alpha), BMP, TIFF, GIF, WebP (lossless and lossy) and JPEG
// (baseline, progressive, restart markers, every chroma subsampling, grey,
// RGB, CMYK, YCCK) are bit-exact. JPEG goes through this package's own decoder,
// which follows libjpeg's integer IDCT, upsampling and colour conversion;
// arithmetic-coded, lossless and 12-bit JPEGs fall back to image/jpeg (which
// rejects them). Known gaps: Pillow reads 16-bit grey PNGs as 32-bit integers
// and clips them on convert("RGB"); this package keeps the high byte in both
// modes. For a truncated JPEG, libjpeg greys the missing blocks (as here) but
// OpenCV's imdecode repeats the last row it received. GIFs, which OpenCV 4.6
// cannot read, follow Pillow (first frame on the full canvas, transparent
// entries keep their stored colour).
package vision

import (
	"fmt"
	"image"
	"image/color"
)

// RGB is an 8-bit RGB image stored row-major, 3 bytes per pixel (HWC), the
// layout OpenCV and Pillow resize in. It implements image.Image.
type RGB struct {
	W, H int
	Pix  []uint8
}

// NewRGB returns a black w x h image.
func NewRGB(w, h int) *RGB {
	return &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)}
}

// ColorModel implements image.Image.
func (m *RGB) ColorModel() color.Model { return color.RGBAModel }

// Bounds implements image.Image.
func (m *RGB) Bounds() image.Rectangle { return image.Rect(0, 0, m.W, m.H) }

// At implements image.Image.
func (m *RGB) At(x, y int) color.Color {
	if x < 0 || y < 0 || x >= m.W || y >= m.H {
		return color.RGBA{}
	}
	p := m.Pix[3*(y*m.W+x):]
	return color.RGBA{p[0], p[1], p[2], 0xff}
}

// check reports a malformed RGB (wrong buffer length), which would otherwise
// make the resizers index out of range.
func (m *RGB) check() error {
	if m == nil || m.W <= 0 || m.H <= 0 || len(m.Pix) != 3*m.W*m.H {
		return fmt.Errorf("vision: malformed RGB image")
	}
	return nil
}

// CMYKStyle selects the CMYK -> RGB formula, which differs between the
// decoders the two reference pipelines use.
type CMYKStyle int

const (
	// CMYKOpenCV is OpenCV's icvCvt_CMYK2BGR: v = K' - ((255-C')*K' >> 8) on the
	// Adobe-inverted samples, i.e. (255-k) - (c*(255-k) >> 8).
	CMYKOpenCV CMYKStyle = iota
	// CMYKPillow is Pillow's cmyk2rgb: (255-k) - round(c*(255-k)/255).
	CMYKPillow
)

func cmykToRGB(c, k uint8, style CMYKStyle) uint8 {
	nk := 255 - int(k)
	if style == CMYKPillow {
		t := int(c)*nk + 128
		return uint8(nk - ((t>>8)+t)>>8)
	}
	return uint8(nk - (int(c)*nk)>>8)
}

// ToRGB converts any image to RGB. Alpha is dropped without premultiplying
// (OpenCV's IMREAD_COLOR and Pillow's convert("RGB") both keep the stored
// colour), 16-bit samples keep their high byte (libpng's strip_16, which
// OpenCV uses), grey is replicated.
func ToRGB(img image.Image, style CMYKStyle) (*RGB, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("vision: empty image (%dx%d)", w, h)
	}
	if r, ok := img.(*RGB); ok {
		if err := r.check(); err != nil {
			return nil, err
		}
		return &RGB{W: r.W, H: r.H, Pix: append([]uint8(nil), r.Pix...)}, nil
	}
	out := NewRGB(w, h)
	d := out.Pix
	switch m := img.(type) {
	case *image.YCbCr:
		ycbcrToRGB(out, m)
	case *image.NYCbCrA:
		ycbcrToRGB(out, &m.YCbCr)
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				v := row[x]
				i := 3 * (y*w + x)
				d[i], d[i+1], d[i+2] = v, v, v
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				v := row[2*x]
				i := 3 * (y*w + x)
				d[i], d[i+1], d[i+2] = v, v, v
			}
		}
	case *image.NRGBA:
		copyStrided(d, m.Pix, m.PixOffset(b.Min.X, b.Min.Y), m.Stride, w, h, 4, 1)
	case *image.NRGBA64:
		copyStrided(d, m.Pix, m.PixOffset(b.Min.X, b.Min.Y), m.Stride, w, h, 8, 2)
	case *image.RGBA:
		if opaque(m.Pix, m.PixOffset(b.Min.X, b.Min.Y), m.Stride, w, h, 4, 3) {
			copyStrided(d, m.Pix, m.PixOffset(b.Min.X, b.Min.Y), m.Stride, w, h, 4, 1)
		} else {
			generic(out, img)
		}
	case *image.RGBA64:
		if opaque(m.Pix, m.PixOffset(b.Min.X, b.Min.Y), m.Stride, w, h, 8, 6) {
			copyStrided(d, m.Pix, m.PixOffset(b.Min.X, b.Min.Y), m.Stride, w, h, 8, 2)
		} else {
			generic(out, img)
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4]
				i := 3 * (y*w + x)
				d[i] = cmykToRGB(p[0], p[3], style)
				d[i+1] = cmykToRGB(p[1], p[3], style)
				d[i+2] = cmykToRGB(p[2], p[3], style)
			}
		}
	case *image.Paletted:
		var pal [256][3]uint8
		for i, c := range m.Palette {
			if i == 256 {
				break
			}
			pal[i] = plainRGB(c)
		}
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				p := pal[row[x]]
				i := 3 * (y*w + x)
				d[i], d[i+1], d[i+2] = p[0], p[1], p[2]
			}
		}
	default:
		generic(out, img)
	}
	return out, nil
}

// copyStrided copies the first three samples of each pixel; bpp is the source
// bytes per pixel and ss the bytes per sample (2 = big-endian 16-bit, high byte
// kept).
func copyStrided(d, src []uint8, off, stride, w, h, bpp, ss int) {
	for y := 0; y < h; y++ {
		row := src[off+y*stride:]
		for x := 0; x < w; x++ {
			p := row[x*bpp:]
			i := 3 * (y*w + x)
			d[i], d[i+1], d[i+2] = p[0], p[ss], p[2*ss]
		}
	}
}

// opaque reports whether every alpha sample (at byte ai of each pixel) is 0xff,
// so premultiplied storage equals the plain colour.
func opaque(src []uint8, off, stride, w, h, bpp, ai int) bool {
	for y := 0; y < h; y++ {
		row := src[off+y*stride:]
		for x := 0; x < w; x++ {
			if row[x*bpp+ai] != 0xff {
				return false
			}
		}
	}
	return true
}

// generic un-premultiplies through the NRGBA64 model; it serves image types
// without a fast path and premultiplied images with transparency.
func generic(out *RGB, img image.Image) {
	b := img.Bounds()
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			p := plainRGB(img.At(x, y))
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = p[0], p[1], p[2]
			i += 3
		}
	}
}

// plainRGB returns a colour's stored RGB without alpha. Non-premultiplied
// colours are read directly: going through RGBA() would lose the colour of
// fully transparent entries (a PNG palette's tRNS index, for one).
func plainRGB(c color.Color) [3]uint8 {
	switch c := c.(type) {
	case color.NRGBA:
		return [3]uint8{c.R, c.G, c.B}
	case color.NRGBA64:
		return [3]uint8{uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8)}
	}
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return [3]uint8{uint8(n.R >> 8), uint8(n.G >> 8), uint8(n.B >> 8)}
}
