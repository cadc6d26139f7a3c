package vision

import (
	"fmt"
	"image"
	"sync"
)

// PreprocessBytes runs the eval pipeline on an encoded image and writes the
// CHW result into dst (3*crop*crop floats): the same floats as DecodeBytes
// followed by PreprocessInto. A JPEG is decoded only where the resize and
// crop read it (see regionResizeCrop); other formats, Options.Draft and
// images the pipeline refuses take the two steps.
func PreprocessBytes(dst []float32, b []byte, opt Options) error {
	if err := opt.Validate(); err != nil {
		return err
	}
	c, ok := regionResizeCrop(b, opt)
	if !ok {
		m, err := DecodeBytes(b, opt)
		if err != nil {
			return err
		}
		if c, err = ResizeCrop(m, opt); err != nil {
			return err
		}
	}
	return Normalize(dst, c, opt)
}

// PreprocessFile is PreprocessBytes on the file at path; its errors name
// the file.
func PreprocessFile(dst []float32, path string, opt Options) error {
	var buf []byte
	if p, ok := fileBytes.Get().(*[]byte); ok {
		buf = *p
	}
	b, err := readFileInto(buf, path, opt)
	if err != nil {
		return err
	}
	defer func() { b = b[:0]; fileBytes.Put(&b) }()
	if err := PreprocessBytes(dst, b, opt); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// fileBytes keeps PreprocessFile's file buffers between calls, for the
// reason regionPix keeps pixels.
var fileBytes sync.Pool // of *[]byte

// regionResizeCrop is DecodeBytes then ResizeCrop for a JPEG, decoding only
// the source pixels the crop reads. ok is false where that does not apply
// (another format, draft decoding, an image the pipeline refuses, a file
// the decoder leaves to image/jpeg); the two steps then give the result or
// the error.
func regionResizeCrop(b []byte, opt Options) (c *RGB, ok bool) {
	rs, jo, ok := planRegion(b, opt)
	if !ok {
		return nil, false
	}
	m, err := decodeJPEG(b, jo)
	if err != nil {
		return nil, false
	}
	src := rs.source()
	c, err = resizeView(rs, view{pix: m, x0: src.Min.X, y0: src.Min.Y})
	releaseRegion(m)
	return c, err == nil
}

// regionPix keeps the pixels of region images between calls: a 12 Mpx
// photo's region is about 20 MB, and the page faults of a fresh buffer each
// time cost as much CPU as decoding into it.
var regionPix sync.Pool // of *[]uint8

// regionImage is NewRGB(w, h) on a buffer from regionPix when one is large
// enough.
func regionImage(w, h int) *RGB {
	n := 3 * w * h
	if p, ok := regionPix.Get().(*[]uint8); ok && cap(*p) >= n {
		pix := (*p)[:n]
		clear(pix)
		return &RGB{W: w, H: h, Pix: pix}
	}
	return NewRGB(w, h)
}

// releaseRegion gives m's pixels back to regionPix; m must not be used
// after.
func releaseRegion(m *RGB) {
	pix := m.Pix[:0]
	regionPix.Put(&pix)
}

// planRegion plans the resize and centre crop of a JPEG from its header's
// size and its EXIF orientation, and the decoder's options for the pixels
// they read: the rectangle of the upright image the resize reads, mapped
// back to the stored orientation.
func planRegion(b []byte, opt Options) (windowResize, jpegOptions, bool) {
	if opt.Draft || len(b) < 2 || b[0] != 0xff || b[1] != 0xd8 {
		return nil, jpegOptions{}, false
	}
	cfg, format, err := decodeHeader(b, opt)
	if err != nil || format != "jpeg" {
		return nil, jpegOptions{}, false
	}
	jo := jpegOpts(b, opt)
	w, h := cfg.Width, cfg.Height
	if jo.orientation >= 5 {
		w, h = h, w
	}
	rs, err := planResizeCrop(w, h, opt)
	if err != nil || rs.source().Empty() { // an empty region would mean the whole image
		return nil, jpegOptions{}, false
	}
	jo.region = storedRect(rs.source(), jo.orientation, cfg.Width, cfg.Height)
	jo.size = image.Pt(cfg.Width, cfg.Height)
	return rs, jo, true
}

// storedRect maps a rectangle of an image shown in an EXIF orientation
// (see Orient) to the stored pixels it shows; w x h is the stored size.
func storedRect(r image.Rectangle, orientation, w, h int) image.Rectangle {
	x0, y0, x1, y1 := r.Min.X, r.Min.Y, r.Max.X, r.Max.Y
	if orientation >= 5 {
		x0, y0, x1, y1 = y0, x0, y1, x1
	}
	switch orientation {
	case 2, 3, 7, 8: // mirrored left to right in storage
		x0, x1 = w-x1, w-x0
	}
	switch orientation {
	case 3, 4, 6, 7: // upside down in storage
		y0, y1 = h-y1, h-y0
	}
	return image.Rect(x0, y0, x1, y1)
}
