package vision

import (
	"fmt"
	"math"
)

// Rand is the randomness the augmentations draw from: Float64 in [0, 1) and
// IntN in [0, n). *math/rand/v2.Rand satisfies it.
type Rand interface {
	Float64() float64
	IntN(n int) int
}

// RandCrop holds PaddleClas RandCropImage's parameters: a crop covering a
// fraction of the area drawn uniformly from Scale, with an aspect ratio
// (width/height) drawn uniformly from Ratio (log-uniformly with LogAspect),
// resized to W x H with cv2 bilinear.
type RandCrop struct {
	W, H         int
	Scale, Ratio [2]float64
	LogAspect    bool
}

// DefaultRandCrop is RandCropImage(size=size) with its default ranges.
func DefaultRandCrop(size int) RandCrop {
	return RandCrop{W: size, H: size, Scale: [2]float64{0.08, 1}, Ratio: [2]float64{3.0 / 4, 4.0 / 3}}
}

// Validate reports parameters no draw can use. The ranges need not be
// ordered: random.uniform(a, b) accepts a > b.
func (c RandCrop) Validate() error {
	finite := func(v [2]float64, low float64) bool {
		return v[0] >= low && v[1] >= low && !math.IsInf(v[0], 0) && !math.IsInf(v[1], 0)
	}
	if c.W <= 0 || c.H <= 0 || c.W > 1<<14 || c.H > 1<<14 || !finite(c.Scale, 0) ||
		!finite(c.Ratio, math.SmallestNonzeroFloat64) {
		return fmt.Errorf("vision: bad random crop %+v", c)
	}
	return nil
}

// uniform is Python's random.uniform(a, b) for the draw u = random(). The
// conversion rounds the product on its own, as Python does, instead of
// letting the compiler fuse it into the addition.
func uniform(a, b, u float64) float64 { return a + float64((b-a)*u) }

// Box returns the crop size RandCropImage derives from an image of w x h and
// its two uniform draws uRatio and uScale in [0, 1), with Python's float
// arithmetic step by step. A crop that truncates to zero pixels is an error,
// as it is in PaddleClas (cv2.resize rejects the empty slice).
func (c RandCrop) Box(w, h int, uRatio, uScale float64) (cw, ch int, err error) {
	var ar float64
	if c.LogAspect {
		ar = math.Exp(uniform(math.Log(c.Ratio[0]), math.Log(c.Ratio[1]), uRatio))
	} else {
		ar = uniform(c.Ratio[0], c.Ratio[1], uRatio)
	}
	W, H := float64(w), float64(h)
	// The area fraction is capped so that the crop fits inside the image.
	bound := min((W/H)/ar, (H/W)*ar)
	smax, smin := min(c.Scale[1], bound), min(c.Scale[0], bound)
	area := float64(w*h) * uniform(smin, smax, uScale)
	cw, ch = int(math.Sqrt(area*ar)), int(math.Sqrt(area/ar))
	if cw < 1 || ch < 1 || cw > w || ch > h {
		return 0, 0, fmt.Errorf("vision: random crop of %dx%d from a %dx%d image", cw, ch, w, h)
	}
	return cw, ch, nil
}

// Apply draws a crop from r and returns it resized. The draws come in
// RandCropImage's order: aspect ratio, area fraction, x offset, y offset.
func (c RandCrop) Apply(m *RGB, r Rand) (*RGB, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	uRatio := r.Float64()
	uScale := r.Float64()
	cw, ch, err := c.Box(m.W, m.H, uRatio, uScale)
	if err != nil {
		return nil, err
	}
	x := r.IntN(m.W - cw + 1)
	y := r.IntN(m.H - ch + 1)
	cr, err := Crop(m, x, y, cw, ch)
	if err != nil {
		return nil, err
	}
	return ResizeCV(cr, c.W, c.H)
}

// FlipHorizontal mirrors m left to right in place (cv2.flip code 1).
func FlipHorizontal(m *RGB) {
	for y := range m.H {
		row := m.Pix[y*m.W*3 : (y+1)*m.W*3]
		for i, j := 0, m.W-1; i < j; i, j = i+1, j-1 {
			a, b := row[3*i:3*i+3], row[3*j:3*j+3]
			a[0], a[1], a[2], b[0], b[1], b[2] = b[0], b[1], b[2], a[0], a[1], a[2]
		}
	}
}

// FlipVertical mirrors m top to bottom in place (cv2.flip code 0).
func FlipVertical(m *RGB) {
	n := 3 * m.W
	for i, j := 0, m.H-1; i < j; i, j = i+1, j-1 {
		a, b := m.Pix[i*n:(i+1)*n], m.Pix[j*n:(j+1)*n]
		for k := range a {
			a[k], b[k] = b[k], a[k]
		}
	}
}
