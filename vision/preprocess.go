package vision

import (
	"fmt"
	"image"
	"math"

	"github.com/dla-go/dla/tensor"
)

// Mode names a reference evaluation pipeline.
type Mode string

const (
	// ModePaddle is PaddleClas eval: cv2 decode (EXIF applied), resize_short
	// with round-half-even sizes, cv2 INTER_LINEAR, floor centre crop,
	// x*float32(1/255) then (x-mean)/std.
	ModePaddle Mode = "paddle"
	// ModeTimm is timm eval: PIL decode (EXIF ignored), torchvision
	// Resize(short) with a truncated long side, PIL bilinear (antialiased),
	// CenterCrop with round-half-even offsets, x/255 then (x-mean)/std.
	ModeTimm Mode = "timm"
)

// EXIFMode says whether the EXIF orientation of a JPEG is applied.
type EXIFMode int

const (
	EXIFAuto   EXIFMode = iota // as the mode's reference decoder: paddle applies, timm ignores
	EXIFApply                  // always rotate upright
	EXIFIgnore                 // keep the stored pixel order
)

// ImageNet statistics (RGB), used by both DLA weight sources.
var (
	ImageNetMean = [3]float32{0.485, 0.456, 0.406}
	ImageNetStd  = [3]float32{0.229, 0.224, 0.225}
)

// Options configures decoding and eval preprocessing. The zero value is the
// PaddleClas DLA eval pipeline (paddle mode, 256 -> 224, ImageNet mean/std).
type Options struct {
	Mode        Mode // "" means ModePaddle
	ResizeShort int  // short side after resize; 0 means 256
	Crop        int  // square centre crop; 0 means 224
	// Mean and Std per RGB channel; all-zero means ImageNet's.
	Mean, Std [3]float32
	// Scale multiplies the pixel before mean/std in paddle mode; 0 means
	// float32(1/255) (ppcls yaml "1.0/255.0"). PaddleClas deploy configs
	// write 0.00392157.
	Scale     float32
	EXIF      EXIFMode
	MaxPixels int64 // decode limit in pixels; 0 means DefaultMaxPixels
	MaxBytes  int64 // decode limit on the encoded size; 0 means DefaultMaxBytes
	// Draft lets large JPEGs decode at 1/2, 1/4 or 1/8 scale in the DCT
	// domain (libjpeg's scaled decoding, Pillow's draft mode): the smallest
	// scale whose short side stays at least twice ResizeShort. Faster, but
	// no longer the reference pipeline's pixels; off by default.
	Draft bool
}

func (o Options) mode() Mode {
	if o.Mode == "" {
		return ModePaddle
	}
	return o.Mode
}

func (o Options) resizeShort() int {
	if o.ResizeShort == 0 {
		return 256
	}
	return o.ResizeShort
}

func (o Options) crop() int {
	if o.Crop == 0 {
		return 224
	}
	return o.Crop
}

func (o Options) meanStd() (mean, std [3]float32) {
	mean, std = o.Mean, o.Std
	if mean == ([3]float32{}) {
		mean = ImageNetMean
	}
	if std == ([3]float32{}) {
		std = ImageNetStd
	}
	return mean, std
}

func (o Options) scale() float32 {
	if o.Scale == 0 {
		return float32(1.0 / 255.0)
	}
	return o.Scale
}

func (o Options) maxPixels() int64 {
	if o.MaxPixels <= 0 {
		return DefaultMaxPixels
	}
	return o.MaxPixels
}

func (o Options) maxBytes() int64 {
	if o.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return o.MaxBytes
}

func (o Options) applyEXIF() bool {
	switch o.EXIF {
	case EXIFApply:
		return true
	case EXIFIgnore:
		return false
	}
	return o.mode() != ModeTimm
}

func (o Options) cmykStyle() CMYKStyle {
	if o.mode() == ModeTimm {
		return CMYKPillow
	}
	return CMYKOpenCV
}

// Validate reports options no pipeline can run.
func (o Options) Validate() error {
	if m := o.mode(); m != ModePaddle && m != ModeTimm {
		return fmt.Errorf("vision: unknown preprocessing mode %q (want paddle or timm)", o.Mode)
	}
	if o.ResizeShort < 0 || o.Crop < 0 || o.resizeShort() > 1<<14 || o.crop() > 1<<14 {
		return fmt.Errorf("vision: bad sizes resize_short=%d crop=%d", o.ResizeShort, o.Crop)
	}
	if o.EXIF < EXIFAuto || o.EXIF > EXIFIgnore {
		return fmt.Errorf("vision: bad EXIF mode %d", o.EXIF)
	}
	_, std := o.meanStd()
	if math.IsNaN(float64(o.Scale)) || math.IsInf(float64(o.Scale), 0) {
		return fmt.Errorf("vision: bad scale %v", o.Scale)
	}
	for _, s := range std {
		if s == 0 || math.IsNaN(float64(s)) {
			return fmt.Errorf("vision: std must be non-zero, have %v", std)
		}
	}
	return nil
}

// InputShape is the per-image tensor shape [3, crop, crop].
func (o Options) InputShape() []int { return []int{3, o.crop(), o.crop()} }

// ResizeShortSize returns the size after resizing the short side to short:
// PaddleClas rounds both sides half-to-even (Python's round); torchvision
// sets the short side and truncates the long one.
func ResizeShortSize(w, h, short int, mode Mode) (int, int) {
	if mode == ModeTimm {
		if w <= h {
			return short, int(float64(short*h) / float64(w))
		}
		return int(float64(short*w) / float64(h)), short
	}
	percent := float64(short) / float64(min(w, h))
	return int(math.RoundToEven(float64(w) * percent)), int(math.RoundToEven(float64(h) * percent))
}

// CenterCropOffset returns the crop origin along one axis: floor division in
// PaddleClas, round((n-crop)/2) with half-to-even in torchvision.
func CenterCropOffset(n, crop int, mode Mode) int {
	if mode == ModeTimm {
		return int(math.RoundToEven(float64(n-crop) / 2))
	}
	return (n - crop) / 2
}

// Crop returns the w x h region of m at (x, y).
func Crop(m *RGB, x, y, w, h int) (*RGB, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if x < 0 || y < 0 || w <= 0 || h <= 0 || x+w > m.W || y+h > m.H {
		return nil, fmt.Errorf("vision: crop %dx%d at (%d,%d) does not fit a %dx%d image", w, h, x, y, m.W, m.H)
	}
	return wholeView(m).copyRect(image.Rect(x, y, x+w, y+h)), nil
}

// ResizeCrop runs the uint8 part of eval preprocessing: resize the short side
// and centre-crop. The result is what the model sees before normalisation.
// Only the crop's pixels are resized.
func ResizeCrop(m *RGB, opt Options) (*RGB, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	r, err := planResizeCrop(m.W, m.H, opt)
	if err != nil {
		return nil, err
	}
	return r.apply(wholeView(m)), nil
}

// planResizeCrop plans ResizeCrop for a w x h image: the resize of the short
// side, restricted to the centre crop.
func planResizeCrop(w, h int, opt Options) (windowResize, error) {
	mode, crop := opt.mode(), opt.crop()
	rw, rh := ResizeShortSize(w, h, opt.resizeShort(), mode)
	if rw <= 0 || rh <= 0 {
		return nil, fmt.Errorf("vision: %dx%d image resizes to %dx%d", w, h, rw, rh)
	}
	if int64(rw)*int64(rh) > opt.maxPixels() {
		return nil, fmt.Errorf("%w: %dx%d image resizes to %dx%d", ErrTooLarge, w, h, rw, rh)
	}
	if rw < crop || rh < crop {
		return nil, fmt.Errorf("vision: %dx%d image resized to %dx%d is smaller than the %d crop", w, h, rw, rh, crop)
	}
	x, y := CenterCropOffset(rw, crop, mode), CenterCropOffset(rh, crop, mode)
	win := image.Rect(x, y, x+crop, y+crop)
	if mode == ModeTimm {
		return newPILResize(w, h, rw, rh, win), nil
	}
	return newCVResize(w, h, rw, rh, win), nil
}

// Normalize writes m as CHW float32 into dst (len 3*W*H) with the mode's
// arithmetic: paddle computes float32(x*Scale) then (x-mean)/std, as
// NormalizeImage does in float32 numpy; timm divides by 255 first, as
// ToTensor does, then Normalize.
func Normalize(dst []float32, m *RGB, opt Options) error {
	mean, std := opt.meanStd()
	return normalize(dst, m, opt.mode() == ModeTimm, opt.scale(), mean, std)
}

// NormalizePaddle is Normalize in paddle mode with every constant given
// (no zero-means-default): PaddleClas's NormalizeImage with order HWC,
// followed by the transpose to CHW.
func NormalizePaddle(dst []float32, m *RGB, scale float32, mean, std [3]float32) error {
	return normalize(dst, m, false, scale, mean, std)
}

func normalize(dst []float32, m *RGB, timm bool, scale float32, mean, std [3]float32) error {
	if err := m.check(); err != nil {
		return err
	}
	n := m.W * m.H
	if len(dst) != 3*n {
		return fmt.Errorf("vision: normalize needs %d floats, have %d", 3*n, len(dst))
	}
	for c := range 3 {
		d := dst[c*n : (c+1)*n]
		mu, sd := mean[c], std[c]
		for i := range d {
			x := float32(m.Pix[3*i+c])
			// Explicit float32 conversions keep each step rounded separately
			// (Go may otherwise fuse a multiply and add on some platforms).
			if timm {
				x = float32(x / 255)
			} else {
				x = float32(x * scale)
			}
			d[i] = float32(x-mu) / sd
		}
	}
	return nil
}

// PreprocessInto runs the eval pipeline on img and writes the CHW result into
// dst, which must hold 3*crop*crop floats (one slot of a batch).
func PreprocessInto(dst []float32, img image.Image, opt Options) error {
	if err := opt.Validate(); err != nil {
		return err
	}
	m, ok := img.(*RGB)
	if !ok {
		var err error
		if m, err = ToRGB(img, opt.cmykStyle()); err != nil {
			return err
		}
	}
	c, err := ResizeCrop(m, opt)
	if err != nil {
		return err
	}
	return Normalize(dst, c, opt)
}

// Preprocess returns the [1, 3, crop, crop] input tensor for img.
func Preprocess(img image.Image, opt Options) (*tensor.Tensor, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	t := tensor.New(1, 3, opt.crop(), opt.crop())
	if err := PreprocessInto(t.Data, img, opt); err != nil {
		return nil, err
	}
	return t, nil
}
