package vision

import (
	"errors"
	"image"

	"github.com/dla-go/dla/internal/kernel/jpegdsp"
)

// The output stage: IDCT into per-component rings of sample rows, then
// upsampling and colour conversion row by row, straight into the RGB image
// in its display orientation. In draft mode the IDCT makes 4x4, 2x2 or 1x1
// samples of each block and the rest follows libjpeg's scaled decoding.
//
// A region (jpegOptions.region) limits all three to the pixels a crop
// reads: the IDCT runs on the MCUs whose samples the region's pixels come
// from (with the neighbour sample fancy upsampling blends in), upsampling
// and conversion on the region's rows and columns, and the image holds the
// region alone.

// compOutput is one component's part of the output stage.
type compOutput struct {
	ss       int  // samples per block side out of the IDCT: 8, 4, 2 or 1
	w, h     int  // samples at that scale (libjpeg's downsampled_width and _height)
	hs, vs   int  // integer upsampling factors to the output
	fancy    bool // triangle filter (libjpeg's fancy upsampling), else replication
	stride   int  // bytes per ring row: every block column of the MCU grid
	ringRows int  // two MCU rows of samples
	ring     []uint8
	up       []uint8 // the upsampled row being emitted
}

// jpegOutput emits finished rows into the image.
type jpegOutput struct {
	w, h        int // decoded size, stored orientation
	rowsPerMCU  int // output rows each MCU row completes
	lag         int // rows held back for the next MCU row's context (fancy vertical upsampling)
	next        int // first row not yet emitted
	colorSpace  int
	style       CMYKStyle
	orientation int
	img         *RGB
	// Rotated images (orientations 5-8) collect stripRows stored rows,
	// from row stripY (of rect) on, before they are placed; the taller the
	// strip, the longer the runs each display row gets. Mirrored ones use
	// its first row.
	strip     []uint8
	stripY    int
	stripRows int

	rect image.Rectangle // the part of the image to output, stored orientation
	// The MCUs the IDCT runs on: columns mcuX0..mcuX1-1 from row mcuY0.
	mcuX0, mcuX1, mcuY0 int
	mcusOut             int // MCUs through the IDCT so far, which tests count
}

// transposeRows is the strip height of rotated images: 64 rows make runs of
// three cache lines in each display row.
const transposeRows = 64

// draftScale returns libjpeg's scale_num (over 8) for draft decoding: the
// smallest of 1/8, 1/4 and 1/2 that keeps the short side at least short,
// or 8 (full size).
func draftScale(w, h, short int) int {
	if short <= 0 {
		return 8
	}
	for _, ss := range []int{1, 2, 4} {
		if min((w*ss+7)/8, (h*ss+7)/8) >= short {
			return ss
		}
	}
	return 8
}

// startOutput sizes the output stage once the first scan's tables are
// known: the scale, each component's IDCT size and upsampling, the colour
// space, the rings and the image.
func (d *jpegDecoder) startOutput() error {
	ssMin := draftScale(d.w, d.h, d.opt.draftShort)
	o := &jpegOutput{
		w: (d.w*ssMin + 7) / 8, h: (d.h*ssMin + 7) / 8,
		rowsPerMCU: d.vmax * ssMin, style: d.opt.style, orientation: d.opt.orientation,
	}
	for _, c := range d.comps {
		co := &c.out
		// libjpeg scales chroma up in the IDCT rather than by upsampling
		// where the sampling factors allow (jdmaster.c).
		co.ss = ssMin
		for co.ss < 8 && (d.hmax*ssMin)%(c.h*co.ss*2) == 0 && (d.vmax*ssMin)%(c.v*co.ss*2) == 0 {
			co.ss *= 2
		}
		co.w = (d.w*c.h*co.ss + d.hmax*8 - 1) / (d.hmax * 8)
		co.h = (d.h*c.v*co.ss + d.vmax*8 - 1) / (d.vmax * 8)
		co.hs, co.vs = d.hmax/(c.h*co.ss/ssMin), d.vmax/(c.v*co.ss/ssMin)
		fancy := ssMin > 1
		switch {
		case co.hs == 2 && (co.vs == 1 || co.vs == 2):
			co.fancy = fancy && co.w > 2
		case co.hs == 1 && co.vs == 2:
			co.fancy = fancy
		}
		if co.fancy && co.vs == 2 {
			o.lag = 1
		}
		co.stride = c.bw * co.ss
		co.ringRows = 2 * c.v * co.ss
		co.ring = make([]uint8, co.ringRows*co.stride)
		if co.hs > 1 || co.vs > 1 {
			co.up = make([]uint8, co.hs*co.w+o.w)
		}
	}
	rect, err := d.outputRect(o.w, o.h)
	if err != nil {
		return err
	}
	o.rect = rect
	o.planMCUs(d)
	switch len(d.comps) {
	case 1:
		o.colorSpace = jpegGray
	case 3:
		o.colorSpace = jpegYCbCr
		ids := [3]int{d.comps[0].id, d.comps[1].id, d.comps[2].id}
		switch {
		case d.jfif:
		case d.adobe:
			if d.adobeXform == 0 {
				o.colorSpace = jpegRGB
			}
		case ids == [3]int{'R', 'G', 'B'}:
			o.colorSpace = jpegRGB
		}
	case 4:
		o.colorSpace = jpegCMYK
		if d.adobe && d.adobeXform != 0 {
			o.colorSpace = jpegYCCK
		}
	}
	w, h := rect.Dx(), rect.Dy()
	newImage := NewRGB
	if !d.opt.region.Empty() {
		newImage = regionImage
	}
	if o.orientation >= 5 {
		o.img = newImage(h, w)
	} else {
		o.img = newImage(w, h)
	}
	switch {
	case o.orientation >= 5:
		o.stripRows = min(transposeRows, h)
		o.strip = make([]uint8, o.stripRows*3*w+1) // +1: see jpegdsp.Transpose
	case o.orientation == 2 || o.orientation == 3:
		o.strip = make([]uint8, 3*w)
	}
	d.out = o
	return nil
}

var errRegion = errors.New("vision: jpeg: the region does not fit the image")

// outputRect is the part of the decoded w x h image to output: all of it,
// or the caller's region, which must lie inside the image it was planned
// for.
func (d *jpegDecoder) outputRect(w, h int) (image.Rectangle, error) {
	full := image.Rect(0, 0, w, h)
	r := d.opt.region
	if r.Empty() {
		return full, nil
	}
	if d.opt.size != image.Pt(d.w, d.h) || !r.In(full) {
		return r, errRegion
	}
	return r, nil
}

// planMCUs finds the MCUs holding the samples the output rectangle reads.
func (o *jpegOutput) planMCUs(d *jpegDecoder) {
	o.mcuX0, o.mcuX1, o.mcuY0 = d.mcusX, 0, d.mcusY
	for _, c := range d.comps {
		co := &c.out
		x0, x1 := sampleSpan(o.rect.Min.X, o.rect.Max.X, co.hs, co.w, co.fancy && co.hs == 2)
		y0, _ := sampleSpan(o.rect.Min.Y, o.rect.Max.Y, co.vs, co.h, co.fancy && co.vs == 2)
		mw, mh := c.h*co.ss, c.v*co.ss // samples per MCU
		o.mcuX0 = min(o.mcuX0, x0/mw)
		o.mcuX1 = max(o.mcuX1, (x1-1)/mw+1)
		o.mcuY0 = min(o.mcuY0, y0/mh)
	}
}

// sampleSpan returns the samples [lo, hi) of a component row (or column) of
// n samples, upsampled by f, that output positions x0..x1-1 come from;
// fancy upsampling (context) also blends in the neighbour on either side.
func sampleSpan(x0, x1, f, n int, context bool) (int, int) {
	lo, hi := x0/f, (x1-1)/f+1
	if context {
		lo, hi = lo-1, hi+1
	}
	return max(lo, 0), min(hi, n)
}

// needs reports whether the output reads samples of MCU (mx, my).
func (o *jpegOutput) needs(mx, my int) bool {
	return my >= o.mcuY0 && mx >= o.mcuX0 && mx < o.mcuX1
}

// done reports whether every row of the output has been emitted.
func (o *jpegOutput) done() bool { return o.next >= o.rect.Max.Y }

// transform runs the IDCT on len(nonzero) blocks of coef, side by side from
// block column bx of block row by, into the ring; nonzero[i] false says
// block i has no AC coefficients.
func (co *compOutput) transform(coef []int16, nonzero []bool, q *[64]uint16, bx, by int) {
	n := len(nonzero)
	dst := co.ring[(by*co.ss)%co.ringRows*co.stride+bx*co.ss:]
	switch co.ss {
	case 8:
		for _, nz := range nonzero {
			if nz {
				jpegdsp.IDCT(dst, co.stride, coef, q, n)
				return
			}
		}
		for i := range n {
			jpegdsp.FillDC(dst[8*i:], co.stride, coef[64*i], q[0])
		}
	case 4:
		for i := range n {
			jpegdsp.IDCT4(dst[4*i:], co.stride, (*[64]int16)(coef[64*i:]), q)
		}
	case 2:
		for i := range n {
			jpegdsp.IDCT2(dst[2*i:], co.stride, (*[64]int16)(coef[64*i:]), q)
		}
	default:
		for i := range n {
			jpegdsp.IDCT1(dst[i:], (*[64]int16)(coef[64*i:]), q)
		}
	}
}

// row returns sample row r of the component, clamped to its edges as
// libjpeg's context rows are.
func (co *compOutput) row(r int) []uint8 {
	r = max(0, min(r, co.h-1))
	off := r % co.ringRows * co.stride
	return co.ring[off : off+co.w]
}

// outputRow returns the component's samples for columns x0..x1-1 of
// output row y, upsampled. Horizontal fancy upsampling runs on the samples
// the columns need and one more on each side, so that the columns get the
// blend of the whole row.
func (co *compOutput) outputRow(y, x0, x1 int) []uint8 {
	if co.hs == 1 && co.vs == 1 {
		return co.row(y)[x0:x1]
	}
	if co.fancy {
		if co.hs == 1 {
			near, far := co.vertical(y)
			jpegdsp.H1V2(co.up, near[x0:x1], far[x0:x1], y%2 == 1)
			return co.up[:x1-x0]
		}
		a, b := sampleSpan(x0, x1, 2, co.w, true)
		if co.vs == 2 {
			near, far := co.vertical(y)
			jpegdsp.H2V2(co.up, near[a:b], far[a:b])
		} else {
			jpegdsp.H2V1(co.up, co.row(y)[a:b])
		}
		return co.up[x0-2*a : x1-2*a]
	}
	src := co.row(y / co.vs)
	if co.hs == 1 {
		return src[x0:x1]
	}
	up := co.up[:x1-x0]
	for i := range up {
		up[i] = src[(x0+i)/co.hs]
	}
	return up
}

// vertical returns the two sample rows fancy vertical upsampling blends for
// output row y: the nearer one and the other neighbour.
func (co *compOutput) vertical(y int) (near, far []uint8) {
	if y%2 == 1 {
		return co.row(y / 2), co.row(y/2 + 1)
	}
	return co.row(y / 2), co.row(y/2 - 1)
}

// emit writes the rows of the output rectangle that mcuRows decoded MCU
// rows complete.
func (o *jpegOutput) emit(d *jpegDecoder, mcuRows int) {
	end := mcuRows*o.rowsPerMCU - o.lag
	if mcuRows >= d.mcusY {
		end = o.h
	}
	end = min(end, o.rect.Max.Y)
	x0, x1 := o.rect.Min.X, o.rect.Max.X
	w, h := o.rect.Dx(), o.rect.Dy()
	var planes [4][]uint8
	for y := max(o.next, o.rect.Min.Y); y < end; y++ {
		for i, c := range d.comps {
			planes[i] = c.out.outputRow(y, x0, x1)
		}
		ry := y - o.rect.Min.Y
		switch o.orientation {
		case 2, 3:
			o.convertRow(o.strip, planes)
			dy := ry
			if o.orientation == 3 {
				dy = h - 1 - ry
			}
			mirror(o.img.Pix[dy*3*w:(dy+1)*3*w], o.strip)
		case 4:
			o.convertRow(o.img.Pix[(h-1-ry)*3*w:(h-ry)*3*w], planes)
		case 5, 6, 7, 8:
			i := ry - o.stripY
			o.convertRow(o.strip[i*3*w:(i+1)*3*w], planes)
			if i+1 == o.stripRows || ry+1 == h {
				o.transpose(o.stripY, ry+1)
				o.stripY = ry + 1
			}
		default:
			o.convertRow(o.img.Pix[ry*3*w:(ry+1)*3*w], planes)
		}
	}
	o.next = max(o.next, end)
}

// mirror copies the pixels of src into dst in reverse order.
func mirror(dst, src []uint8) {
	n := len(src) / 3
	dst = dst[:3*n]
	for i := range n {
		j := 3 * (n - 1 - i)
		dst[j], dst[j+1], dst[j+2] = src[3*i], src[3*i+1], src[3*i+2]
	}
}

// convertRow applies libjpeg's colour conversion (YCbCr tables, YCCK to
// CMYK) and then the CMYK formula of the reference decoder.
func (o *jpegOutput) convertRow(d []uint8, pl [4][]uint8) {
	switch o.colorSpace {
	case jpegGray:
		for i, v := range pl[0] {
			d[3*i], d[3*i+1], d[3*i+2] = v, v, v
		}
	case jpegRGB:
		for i := range pl[0] {
			d[3*i], d[3*i+1], d[3*i+2] = pl[0][i], pl[1][i], pl[2][i]
		}
	case jpegYCbCr:
		jpegdsp.YCbCrToRGB(d, pl[0], pl[1], pl[2])
	case jpegCMYK:
		// Adobe CMYK is stored inverted (255 = no ink).
		for i := range pl[0] {
			k := 255 - pl[3][i]
			d[3*i] = cmykToRGB(255-pl[0][i], k, o.style)
			d[3*i+1] = cmykToRGB(255-pl[1][i], k, o.style)
			d[3*i+2] = cmykToRGB(255-pl[2][i], k, o.style)
		}
	case jpegYCCK:
		// libjpeg turns YCC into inverted CMY (255 - RGB); un-inverting
		// leaves the RGB values as the ink amounts.
		for i := range pl[0] {
			r, g, b := jpegdsp.YCbCr(pl[0][i], pl[1][i], pl[2][i])
			k := 255 - pl[3][i]
			d[3*i], d[3*i+1], d[3*i+2] = cmykToRGB(r, k, o.style), cmykToRGB(g, k, o.style), cmykToRGB(b, k, o.style)
		}
	}
}

// transpose places the strip's stored rows y0..y1-1 (of the output
// rectangle) in a rotated image (orientations 5-8, see Orient): stored
// column sx becomes display row sx (5, 6) or W-1-sx (7, 8), and the strip's
// rows a run of neighbouring pixels in it, left to right (5, 8) or right to
// left (6, 7).
func (o *jpegOutput) transpose(y0, y1 int) {
	W, H := o.rect.Dx(), o.rect.Dy()
	reverse := o.orientation == 6 || o.orientation == 7
	x0 := y0 // display column of the run's first pixel
	if reverse {
		x0 = H - y1
	}
	start, step := 3*x0, 3*H
	if o.orientation >= 7 {
		start, step = 3*((W-1)*H+x0), -3*H
	}
	jpegdsp.Transpose(o.img.Pix, start, step, o.strip, 3*W, y1-y0, W, reverse)
}
