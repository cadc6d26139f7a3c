package data

import (
	"fmt"

	"github.com/dla-go/dla/vision"
)

// Op is one step of a PaddleClas transform_ops list with its parameters
// resolved. Compile turns a list of them into a Pipeline.
type Op interface{ opName() string }

// DecodeImage decodes an image file to RGB, HWC: PaddleClas's DecodeImage
// with to_rgb True, channel_first False and the cv2 backend (OpenCV's
// decoders, EXIF orientation applied). Sources that hold pixels (IDX) have
// nothing to decode.
type DecodeImage struct{}

// RandCropImage is PaddleClas's RandCropImage (random area and aspect
// ratio, then a cv2 bilinear resize to W x H).
type RandCropImage struct{ vision.RandCrop }

// RandFlipImage flips with probability 1/2 (cv2.flip's codes: 1
// horizontally, 0 vertically, -1 both).
type RandFlipImage struct{ FlipCode int }

// ResizeImage is PaddleClas's ResizeImage with cv2 bilinear: the short side
// to ResizeShort (both sides scaled by ResizeShort/short and rounded half to
// even) when it is positive, otherwise to W x H.
type ResizeImage struct{ ResizeShort, W, H int }

// CropImage is PaddleClas's CropImage: a W x H centre crop with floor
// offsets.
type CropImage struct{ W, H int }

// NormalizeImage is PaddleClas's NormalizeImage on HWC uint8 (float32
// x*Scale, minus Mean, over Std, per RGB channel), written out CHW as the
// dataset's transpose leaves it.
type NormalizeImage struct {
	Scale     float32
	Mean, Std [3]float32
}

// RandomErasing is PaddleClas's RandomErasing, run on the normalised image
// (vision.RandErase).
type RandomErasing struct{ vision.RandErase }

func (DecodeImage) opName() string    { return "DecodeImage" }
func (RandomErasing) opName() string  { return "RandomErasing" }
func (RandCropImage) opName() string  { return "RandCropImage" }
func (RandFlipImage) opName() string  { return "RandFlipImage" }
func (ResizeImage) opName() string    { return "ResizeImage" }
func (CropImage) opName() string      { return "CropImage" }
func (NormalizeImage) opName() string { return "NormalizeImage" }

// maxSide caps the sizes a pipeline may produce.
const maxSide = 1 << 14

// Pipeline is a compiled list of ops: DecodeImage first, then any of
// RandCropImage, RandFlipImage, ResizeImage and CropImage, which work on
// uint8 RGB, then NormalizeImage, then any RandomErasing on its floats.
type Pipeline struct {
	steps []Op // the ops between DecodeImage and NormalizeImage
	norm  NormalizeImage
	erase []RandomErasing
	w, h  int
}

// Compile checks ops and works out the pipeline's output size, which must
// not depend on the input image.
func Compile(ops []Op) (*Pipeline, error) {
	if len(ops) < 2 {
		return nil, fmt.Errorf("data: transform ops must start with DecodeImage and end with NormalizeImage")
	}
	for i, op := range ops {
		if op == nil {
			return nil, fmt.Errorf("data: transform op %d is nil", i)
		}
	}
	if _, ok := ops[0].(DecodeImage); !ok {
		return nil, fmt.Errorf("data: transform op 0 is %s, want DecodeImage first", ops[0].opName())
	}
	last := len(ops) - 1 // NormalizeImage's place: before any RandomErasing
	for last > 0 {
		if _, ok := ops[last].(RandomErasing); !ok {
			break
		}
		last--
	}
	var erase []RandomErasing
	for i, op := range ops[last+1:] {
		e := op.(RandomErasing)
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("data: transform op %d (RandomErasing): %w", last+1+i, err)
		}
		erase = append(erase, e)
	}
	norm, ok := ops[last].(NormalizeImage)
	if !ok {
		return nil, fmt.Errorf("data: transform op %d is %s, want NormalizeImage last, or followed only by RandomErasing (the model takes normalised floats)",
			last, ops[last].opName())
	}
	if err := checkNormalize(norm); err != nil {
		return nil, fmt.Errorf("data: transform op %d (NormalizeImage): %w", last, err)
	}
	p := &Pipeline{steps: append([]Op(nil), ops[1:last]...), norm: norm, erase: erase}
	known := false // whether p.w x p.h is the size so far, whatever the input
	for i, op := range p.steps {
		err := checkStep(op)
		if err == nil {
			switch o := op.(type) {
			case RandCropImage:
				known, p.w, p.h = true, o.W, o.H
			case ResizeImage:
				if o.ResizeShort == 0 {
					known, p.w, p.h = true, o.W, o.H
				} else if known {
					w, h := vision.ResizeShortSize(p.w, p.h, o.ResizeShort, vision.ModePaddle)
					if w < 1 || h < 1 || w > maxSide || h > maxSide {
						err = fmt.Errorf("resizes a %dx%d image to %dx%d", p.w, p.h, w, h)
					}
					p.w, p.h = w, h
				}
			case CropImage:
				if known && (p.w < o.W || p.h < o.H) {
					err = fmt.Errorf("%dx%d crop of a %dx%d image", o.W, o.H, p.w, p.h)
				}
				known, p.w, p.h = true, o.W, o.H
			}
		}
		if err != nil {
			return nil, fmt.Errorf("data: transform op %d (%s): %w", i+1, op.opName(), err)
		}
	}
	if !known {
		return nil, fmt.Errorf("data: the transform ops' output size depends on the image; end with RandCropImage, ResizeImage with size, or CropImage")
	}
	return p, nil
}

func checkStep(op Op) error {
	switch o := op.(type) {
	case RandCropImage:
		return o.Validate()
	case RandFlipImage:
		if o.FlipCode < -1 || o.FlipCode > 1 {
			return fmt.Errorf("flip code %d (want 1, 0 or -1)", o.FlipCode)
		}
	case ResizeImage:
		if o.ResizeShort < 0 || o.ResizeShort > maxSide ||
			o.ResizeShort == 0 && (o.W < 1 || o.H < 1 || o.W > maxSide || o.H > maxSide) {
			return fmt.Errorf("bad sizes resize_short=%d size=%dx%d", o.ResizeShort, o.W, o.H)
		}
	case CropImage:
		if o.W < 1 || o.H < 1 || o.W > maxSide || o.H > maxSide {
			return fmt.Errorf("bad size %dx%d", o.W, o.H)
		}
	default:
		return fmt.Errorf("%s must come first or last", op.opName())
	}
	return nil
}

func checkNormalize(n NormalizeImage) error {
	for _, v := range [...]float32{n.Scale, n.Mean[0], n.Mean[1], n.Mean[2], n.Std[0], n.Std[1], n.Std[2]} {
		if v != v || v > 3.4e38 || v < -3.4e38 {
			return fmt.Errorf("non-finite constant %v", v)
		}
	}
	if n.Std[0] == 0 || n.Std[1] == 0 || n.Std[2] == 0 {
		return fmt.Errorf("std %v has a zero", n.Std)
	}
	return nil
}

// Shape is the per-item [C, H, W] the pipeline produces.
func (p *Pipeline) Shape() []int { return []int{3, p.h, p.w} }

// Transform returns the pipeline as a Loader transform for one epoch: item i
// draws its random crop and flip from the stream (seed, epoch, i) alone.
func (p *Pipeline) Transform(seed uint64, epoch int) Transform {
	return func(dst []float32, img *vision.RGB, index int) error {
		return p.apply(dst, img, stream(seed, streamTransform, uint64(epoch), uint64(index)))
	}
}

// apply runs the steps on m, which it may modify, drawing from r in op order.
func (p *Pipeline) apply(dst []float32, m *vision.RGB, r vision.Rand) error {
	var err error
	for _, op := range p.steps {
		switch o := op.(type) {
		case RandCropImage:
			m, err = o.Apply(m, r)
		case RandFlipImage:
			if r.IntN(2) == 1 {
				if o.FlipCode != 0 {
					vision.FlipHorizontal(m)
				}
				if o.FlipCode <= 0 {
					vision.FlipVertical(m)
				}
			}
		case ResizeImage:
			w, h := o.W, o.H
			if o.ResizeShort > 0 {
				w, h = vision.ResizeShortSize(m.W, m.H, o.ResizeShort, vision.ModePaddle)
				if int64(w)*int64(h) > vision.DefaultMaxPixels {
					return fmt.Errorf("%w: %dx%d image resizes to %dx%d", vision.ErrTooLarge, m.W, m.H, w, h)
				}
			}
			m, err = vision.ResizeCV(m, w, h)
		case CropImage:
			if m.W < o.W || m.H < o.H {
				return fmt.Errorf("data: %dx%d crop of a %dx%d image", o.W, o.H, m.W, m.H)
			}
			m, err = vision.Crop(m, (m.W-o.W)/2, (m.H-o.H)/2, o.W, o.H)
		}
		if err != nil {
			return err
		}
	}
	if m.W != p.w || m.H != p.h {
		return fmt.Errorf("data: transform made a %dx%d image, want %dx%d", m.W, m.H, p.w, p.h)
	}
	if err := vision.NormalizePaddle(dst, m, p.norm.Scale, p.norm.Mean, p.norm.Std); err != nil {
		return err
	}
	for _, e := range p.erase {
		e.Apply(dst, p.w, p.h, r)
	}
	return nil
}

// EvalOptions returns the vision.Options that run the same pipeline (what
// `dla predict` and `dla eval` run), in canonical form: a value equal to the
// default is left zero, so PaddleClas's DLA eval ops give vision.Options{}.
// Only DecodeImage, ResizeImage(resize_short), a square CropImage and
// NormalizeImage, in that order, have an equivalent.
func (p *Pipeline) EvalOptions() (vision.Options, error) {
	var r ResizeImage
	var c CropImage
	ok := len(p.steps) == 2 && len(p.erase) == 0
	if ok {
		r, ok = p.steps[0].(ResizeImage)
	}
	if ok {
		c, ok = p.steps[1].(CropImage)
	}
	if !ok || r.ResizeShort == 0 || c.W != c.H {
		return vision.Options{}, fmt.Errorf("data: only DecodeImage, ResizeImage with resize_short, a square CropImage and NormalizeImage have an eval-options equivalent")
	}
	n := p.norm
	if n.Scale == 0 || n.Mean == ([3]float32{}) {
		return vision.Options{}, fmt.Errorf("data: NormalizeImage scale %v, mean %v cannot be recorded in eval options (zero means the default there)", n.Scale, n.Mean)
	}
	opt := vision.Options{ResizeShort: r.ResizeShort, Crop: c.W, Mean: n.Mean, Std: n.Std, Scale: n.Scale}
	if opt.ResizeShort == 256 {
		opt.ResizeShort = 0
	}
	if opt.Crop == 224 {
		opt.Crop = 0
	}
	if opt.Mean == vision.ImageNetMean {
		opt.Mean = [3]float32{}
	}
	if opt.Std == vision.ImageNetStd {
		opt.Std = [3]float32{}
	}
	if opt.Scale == float32(1.0/255.0) {
		opt.Scale = 0
	}
	return opt, nil
}
