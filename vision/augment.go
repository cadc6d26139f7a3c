package vision

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// RandCrop holds PaddleClas RandCropImage's parameters: the crop covers a
// uniform fraction Scale of the area with aspect ratio drawn uniformly from
// Ratio, and is then resized to Size x Size with cv2 bilinear.
type RandCrop struct {
	Size         int
	Scale, Ratio [2]float64
}

// DefaultRandCrop is RandCropImage(size=224) with its default ranges.
func DefaultRandCrop() RandCrop {
	return RandCrop{Size: 224, Scale: [2]float64{0.08, 1}, Ratio: [2]float64{3.0 / 4, 4.0 / 3}}
}

func uniform(r *rand.Rand, a, b float64) float64 { return a + (b-a)*r.Float64() }

// Apply draws a crop from r and returns it resized. The draw order follows
// RandCropImage: aspect ratio, area fraction, then x and y offsets.
func (c RandCrop) Apply(m *RGB, r *rand.Rand) (*RGB, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if c.Size <= 0 || c.Scale[0] <= 0 || c.Scale[0] > c.Scale[1] || c.Ratio[0] <= 0 || c.Ratio[0] > c.Ratio[1] {
		return nil, fmt.Errorf("vision: bad random crop %+v", c)
	}
	ar := math.Sqrt(uniform(r, c.Ratio[0], c.Ratio[1]))
	fw, fh := ar, 1/ar
	W, H := float64(m.W), float64(m.H)
	// The area fraction is capped so the crop fits inside the image.
	bound := min((W/H)/(fw*fw), (H/W)/(fh*fh))
	smax, smin := min(c.Scale[1], bound), min(c.Scale[0], bound)
	side := math.Sqrt(W * H * uniform(r, smin, smax))
	w := max(1, min(m.W, int(side*fw)))
	h := max(1, min(m.H, int(side*fh)))
	x := r.IntN(m.W - w + 1)
	y := r.IntN(m.H - h + 1)
	cr, err := Crop(m, x, y, w, h)
	if err != nil {
		return nil, err
	}
	return ResizeCV(cr, c.Size, c.Size)
}

// FlipHorizontal mirrors m left to right in place.
func FlipHorizontal(m *RGB) {
	for y := range m.H {
		row := m.Pix[y*m.W*3 : (y+1)*m.W*3]
		for i, j := 0, m.W-1; i < j; i, j = i+1, j-1 {
			a, b := row[3*i:3*i+3], row[3*j:3*j+3]
			a[0], a[1], a[2], b[0], b[1], b[2] = b[0], b[1], b[2], a[0], a[1], a[2]
		}
	}
}

// TrainPreprocessInto is the PaddleClas training transform: random resized
// crop, horizontal flip with probability 1/2, normalisation with paddle
// arithmetic and opt's mean, std and scale, CHW into dst (3*Size*Size
// floats). All randomness comes from r.
func TrainPreprocessInto(dst []float32, m *RGB, crop RandCrop, r *rand.Rand, opt Options) error {
	if err := opt.Validate(); err != nil {
		return err
	}
	out, err := crop.Apply(m, r)
	if err != nil {
		return err
	}
	if r.IntN(2) == 1 {
		FlipHorizontal(out)
	}
	opt.Mode = ModePaddle
	return Normalize(dst, out, opt)
}
