package vision

import (
	"fmt"
	"image"
)

// view is part of a larger image: pix holds its pixels, and (x0, y0) is
// where pix's first pixel sits in the larger image. Region decoding gives
// the resizers a view of just the source pixels a crop reads.
type view struct {
	pix    *RGB
	x0, y0 int
}

func wholeView(m *RGB) view { return view{pix: m} }

func (v view) rect() image.Rectangle {
	return image.Rect(v.x0, v.y0, v.x0+v.pix.W, v.y0+v.pix.H)
}

// offset is the index in pix.Pix of the pixel at (x, y) of the larger image.
func (v view) offset(x, y int) int { return 3 * ((y-v.y0)*v.pix.W + x - v.x0) }

// row returns row y of the larger image, from column x to the view's edge.
func (v view) row(x, y int) []uint8 {
	return v.pix.Pix[v.offset(x, y):v.offset(v.x0+v.pix.W, y)]
}

// copyRect copies r, a rectangle inside the view, into an image of its own.
func (v view) copyRect(r image.Rectangle) *RGB {
	out := NewRGB(r.Dx(), r.Dy())
	n := 3 * r.Dx()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		copy(out.Pix[(y-r.Min.Y)*n:], v.row(r.Min.X, y)[:n])
	}
	return out
}

// windowResize is a resize of a whole image to a given size, of which only
// a window of the output is computed: exactly the pixels a full resize
// followed by a crop to the window would give.
type windowResize interface {
	// source is the part of the source image the window reads.
	source() image.Rectangle
	// apply computes the window from a view holding at least source().
	apply(v view) *RGB
}

// resizeView runs r on v after checking that v holds what r reads.
func resizeView(r windowResize, v view) (*RGB, error) {
	if err := v.pix.check(); err != nil {
		return nil, err
	}
	if s := r.source(); !s.In(v.rect()) {
		return nil, fmt.Errorf("vision: resize reads %v, the view holds %v", s, v.rect())
	}
	return r.apply(v), nil
}

// fullWindow is the whole output of a resize to w x h.
func fullWindow(w, h int) image.Rectangle { return image.Rect(0, 0, w, h) }

// checkResize reports a resize the resizers cannot run.
func checkResize(src *RGB, w, h int) error {
	if err := src.check(); err != nil {
		return err
	}
	if w <= 0 || h <= 0 {
		return fmt.Errorf("vision: resize to %dx%d", w, h)
	}
	return nil
}
