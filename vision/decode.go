package vision

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"os"

	// The decoders this package accepts; formats registered by other
	// packages are refused (see allowedFormats).
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// Default limits for untrusted input.
const (
	DefaultMaxPixels = 64 << 20  // 64 Mpx, about 200 MB as RGB
	DefaultMaxBytes  = 100 << 20 // encoded file size
)

// ErrTooLarge is wrapped by every error about an input over a size limit.
var ErrTooLarge = errors.New("vision: image too large")

var allowedFormats = map[string]bool{
	"jpeg": true, "png": true, "gif": true, "bmp": true, "webp": true, "tiff": true,
}

// Decode reads one image (JPEG, PNG, GIF first frame, BMP, WebP, TIFF) and
// returns it as RGB, upright when EXIF orientation applies (see Options.EXIF).
// Sizes are checked from the header before any pixel memory is allocated.
func Decode(r io.Reader, opt Options) (*RGB, error) {
	b, err := readLimited(r, opt)
	if err != nil {
		return nil, err
	}
	return DecodeBytes(b, opt)
}

// readLimited reads r to its end, refusing more than opt's byte limit.
func readLimited(r io.Reader, opt Options) ([]byte, error) {
	return readLimitedInto(nil, r, opt)
}

// readLimitedInto is readLimited reading into buf's memory, which it
// grows (by appending) only when the input is larger.
func readLimitedInto(buf []byte, r io.Reader, opt Options) ([]byte, error) {
	maxBytes := opt.maxBytes()
	lr := io.LimitReader(r, maxBytes+1)
	b := buf[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("vision: read: %w", err)
		}
	}
	if int64(len(b)) > maxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxBytes)
	}
	return b, nil
}

// DecodeFile decodes the image at path.
func DecodeFile(path string, opt Options) (*RGB, error) {
	b, err := readFile(path, opt)
	if err != nil {
		return nil, err
	}
	m, err := DecodeBytes(b, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// readFile reads the encoded image at path; errors past opening name it.
func readFile(path string, opt Options) ([]byte, error) {
	return readFileInto(nil, path, opt)
}

// readFileInto is readFile into buf's memory (see readLimitedInto), made
// as large as the file first: io.ReadAll's doublings copied and faulted in
// twice the size of a large photo.
func readFileInto(buf []byte, path string, opt Options) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vision: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() < opt.maxBytes() && int(fi.Size()) >= cap(buf) {
		buf = make([]byte, 0, fi.Size()+1) // +1: the read that finds the end
	}
	b, err := readLimitedInto(buf, f, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// DecodeBytes is Decode on an in-memory file.
func DecodeBytes(b []byte, opt Options) (*RGB, error) {
	_, format, err := decodeHeader(b, opt)
	if err != nil {
		return nil, err
	}
	if format == "jpeg" {
		// libjpeg-exact decoding; image/jpeg covers what it does not handle.
		m, err := decodeJPEG(b, jpegOpts(b, opt))
		if errors.Is(err, ErrTooLarge) {
			return nil, err
		}
		if err == nil {
			return m, nil
		}
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("vision: decode %s: %w", format, err)
	}
	// A decoder may return a different size than its header claimed.
	if err := checkSize(img.Bounds().Dx(), img.Bounds().Dy(), opt.maxPixels()); err != nil {
		return nil, err
	}
	var m *RGB
	switch y := img.(type) {
	case *image.YCbCr:
		if format == "webp" {
			m = NewRGB(y.Rect.Dx(), y.Rect.Dy())
			webpToRGB(m, y)
		}
	case *image.NYCbCrA:
		if format == "webp" {
			m = NewRGB(y.Rect.Dx(), y.Rect.Dy())
			webpToRGB(m, &y.YCbCr)
		}
	case *image.Paletted:
		if format == "gif" {
			m = gifToRGB(b, y) // nil when the file needs Go's conversion
		}
	}
	if m == nil {
		if m, err = ToRGB(img, opt.cmykStyle()); err != nil {
			return nil, err
		}
	}
	if opt.applyEXIF() {
		m = Orient(m, Orientation(b, format))
	}
	return m, nil
}

// decodeHeader checks an encoded image's byte size, format and pixel size
// before any pixel memory is allocated.
func decodeHeader(b []byte, opt Options) (image.Config, string, error) {
	if int64(len(b)) > opt.maxBytes() {
		return image.Config{}, "", fmt.Errorf("%w: more than %d bytes", ErrTooLarge, opt.maxBytes())
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return cfg, "", fmt.Errorf("vision: decode header: %w", err)
	}
	if !allowedFormats[format] {
		return cfg, "", fmt.Errorf("vision: unsupported image format %q", format)
	}
	if err := checkSize(cfg.Width, cfg.Height, opt.maxPixels()); err != nil {
		return cfg, "", err
	}
	return cfg, format, nil
}

// jpegOpts are the JPEG decoder's options for the file b under opt.
func jpegOpts(b []byte, opt Options) jpegOptions {
	jo := jpegOptions{maxPixels: opt.maxPixels(), style: opt.cmykStyle(), orientation: 1}
	if opt.applyEXIF() {
		jo.orientation = JPEGOrientation(b)
	}
	if opt.Draft {
		jo.draftShort = 2 * opt.resizeShort()
	}
	return jo
}

// Orientation returns the EXIF orientation (1..8, 1 when absent) of an
// encoded image where OpenCV's imdecode honours it: the JPEG APP1 segment,
// the PNG eXIf chunk, and the TIFF IFD0 itself.
func Orientation(b []byte, format string) int {
	switch format {
	case "jpeg":
		return JPEGOrientation(b)
	case "png":
		return PNGOrientation(b)
	case "tiff":
		return ExifOrientation(b)
	}
	return 1
}

func checkSize(w, h int, maxPixels int64) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("vision: image has zero size (%dx%d)", w, h)
	}
	if int64(w)*int64(h) > maxPixels {
		return fmt.Errorf("%w: %dx%d is over %d pixels", ErrTooLarge, w, h, maxPixels)
	}
	return nil
}
