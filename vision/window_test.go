package vision

import (
	"bytes"
	"image"
	"math/rand/v2"
	"testing"
)

// newResize is the windowed resize of a mode, as planResizeCrop picks it.
func newResize(mode Mode, srcW, srcH, w, h int, win image.Rectangle) windowResize {
	if mode == ModeTimm {
		return newPILResize(srcW, srcH, w, h, win)
	}
	return newCVResize(srcW, srcH, w, h, win)
}

// TestResizeWindow checks that a window of either resize, computed from a
// view holding only the source pixels it reads (or a little more), equals
// the full resize cropped to the window.
func TestResizeWindow(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 1))
	sizes := [][4]int{ // source w, h, output w, h
		{61, 47, 37, 29},   // down
		{61, 47, 122, 95},  // up
		{60, 46, 30, 23},   // OpenCV's exact halving
		{61, 47, 61, 47},   // a copy
		{61, 47, 61, 20},   // the width kept
		{61, 47, 20, 47},   // the height kept
		{1, 1, 5, 3},       // one pixel
		{5, 300, 3, 17},    // extreme aspect ratios
		{300, 4, 9, 2},     //
		{97, 61, 341, 256}, // the default pipeline's upscale
	}
	for _, sz := range sizes {
		src := synth(sz[0], sz[1], 3)
		for _, mode := range []Mode{ModePaddle, ModeTimm} {
			resize := ResizeCV
			if mode == ModeTimm {
				resize = ResizePIL
			}
			full, err := resize(src, sz[2], sz[3])
			if err != nil {
				t.Fatal(err)
			}
			for range 25 {
				x0, y0 := r.IntN(sz[2]), r.IntN(sz[3])
				win := image.Rect(x0, y0, x0+1+r.IntN(sz[2]-x0), y0+1+r.IntN(sz[3]-y0))
				rs := newResize(mode, sz[0], sz[1], sz[2], sz[3], win)
				s := rs.source()
				if !s.In(image.Rect(0, 0, sz[0], sz[1])) || s.Empty() {
					t.Fatalf("%v %s window %v reads %v", sz, mode, win, s)
				}
				// Either exactly what it reads, or a margin more.
				vr := s
				if r.IntN(2) == 1 {
					vr = image.Rect(s.Min.X-r.IntN(3), s.Min.Y-r.IntN(3), s.Max.X+r.IntN(3), s.Max.Y+r.IntN(3)).Intersect(src.Bounds())
				}
				got, err := resizeView(rs, view{pix: wholeView(src).copyRect(vr), x0: vr.Min.X, y0: vr.Min.Y})
				if err != nil {
					t.Fatal(err)
				}
				want := wholeView(full).copyRect(win)
				if got.W != want.W || got.H != want.H || !bytes.Equal(got.Pix, want.Pix) {
					t.Fatalf("%v %s window %v from %v: differs from the full resize", sz, mode, win, vr)
				}
				if s.Dx() > 1 {
					short := image.Rect(s.Min.X+1, s.Min.Y, s.Max.X, s.Max.Y)
					if _, err := resizeView(rs, view{pix: wholeView(src).copyRect(short), x0: short.Min.X, y0: short.Min.Y}); err == nil {
						t.Fatalf("%v %s: a view short of %v accepted", sz, mode, s)
					}
				}
			}
		}
	}
}
