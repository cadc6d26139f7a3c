package config

import (
	"fmt"
	"strings"

	"github.com/dla-go/dla/data"
	"github.com/dla-go/dla/vision"
)

// ops reads a transform_ops list into data ops, with PaddleClas's defaults
// for absent parameters. infer allows the trailing ToCHWImage of Infer's
// transforms; in a dataset the transpose is the dataset's own.
func (r *reader) ops(path string, v *value, infer bool) []data.Op {
	if v.k != kList {
		r.errorf(path, "want a list of ops, have %s", v.describe())
		return nil
	}
	var out []data.Op
	for i, e := range v.list {
		at := join(path, fmt.Sprint(i))
		if e.k != kMap || len(e.m) != 1 {
			r.errorf(at, "want one {OpName: parameters} mapping, have %s", e.describe())
			continue
		}
		name, params := e.m[0].key, e.m[0].val
		at = join(at, name)
		if params != nil && params.k == kNull {
			params = nil // "- ToCHWImage:" has no parameters
		}
		p := r.section(at, params)
		var op data.Op
		switch name {
		case "DecodeImage":
			op = r.decodeImage(p)
		case "RandCropImage":
			op = r.randCropImage(p)
		case "RandFlipImage":
			op = data.RandFlipImage{FlipCode: p.intRange("flip_code", 1, -1, 1)}
		case "ResizeImage":
			op = r.resizeImage(p)
		case "CropImage":
			if p.need("size") {
				w, h := r.size(p, "size")
				op = data.CropImage{W: w, H: h}
			}
		case "NormalizeImage":
			op = r.normalizeImage(p)
		case "RandomErasing":
			op = r.randomErasing(p)
		case "ToCHWImage":
			if !infer || i != len(v.list)-1 {
				r.errorf(at, "only as the last of Infer's transforms (a dataset transposes to CHW itself)")
			}
		default:
			if knownOps[name] {
				r.errorf(at, "not supported (the ops are DecodeImage, RandCropImage, RandFlipImage, ResizeImage, CropImage, NormalizeImage, RandomErasing)")
			} else {
				r.errorf(at, "unknown op")
			}
			continue
		}
		p.done()
		if op != nil {
			out = append(out, op)
		}
	}
	if len(r.errs) == 0 && !infer {
		if _, err := data.Compile(out); err != nil {
			r.errorf(path, "%v", strings.TrimPrefix(err.Error(), "data: "))
		}
	}
	return out
}

// knownOps are PaddleClas's other preprocessing ops.
var knownOps = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`TimmAutoAugment AutoAugment Padv2 RandomCropImage RandCropImageV2
		AugMix Cutout ColorJitter RandAugment RandAugmentV2 RandAugmentV3 RandAugmentV4 Pad Pad_paddle_vision ToTensor
		Normalize RandomResizedCrop RandomHorizontalFlip RandomRotation RandomCrop Resize BlurImage RandomRot90
		PCALighting HideAndSeek GridMask CropImageAtRatio CropWithPadding RandomInterpolationAugment RandomGrayscale
		CenterCrop OpSampler MixupOperator CutmixOperator FmixOperator`) {
		knownOps[n] = true
	}
}

func (r *reader) decodeImage(p *section) data.Op {
	p.noop("to_np", isTrue, "True")
	p.noop("to_rgb", isTrue, "True")
	p.noop("channel_first", isFalse, "False")
	p.noop("backend", isStr("cv2"), `"cv2"`)
	return data.DecodeImage{}
}

// cv2Bilinear accepts the interpolations that mean cv2.INTER_LINEAR: None,
// "bilinear", or cv2's constant 1.
func cv2Bilinear(v *value) bool { return v.k == kNull || isStr("bilinear")(v) || isInt(1)(v) }

func (r *reader) randCropImage(p *section) data.Op {
	c := vision.DefaultRandCrop(224)
	if p.need("size") {
		c.W, c.H = r.size(p, "size")
	}
	p.noop("progress_size", func(v *value) bool { return v.k == kNull }, "None")
	if v := p.get("scale"); v != nil && v.k != kNull {
		if s := p.floats("scale", 2); len(s) == 2 {
			c.Scale = [2]float64{s[0], s[1]}
		}
	}
	if v := p.get("ratio"); v != nil && v.k != kNull {
		if s := p.floats("ratio", 2); len(s) == 2 {
			c.Ratio = [2]float64{s[0], s[1]}
		}
	}
	p.noop("interpolation", cv2Bilinear, `None or "bilinear"`)
	c.LogAspect = p.bool("use_log_aspect", false)
	p.noop("backend", isStr("cv2"), `"cv2"`)
	if err := c.Validate(); err != nil && len(r.errs) == 0 {
		r.errorf(p.path, "scale %v and ratio %v must be non-negative and positive numbers", c.Scale, c.Ratio)
	}
	return data.RandCropImage{RandCrop: c}
}

func (r *reader) resizeImage(p *section) data.Op {
	var op data.ResizeImage
	// PaddleClas takes resize_short when it is set and positive, else size.
	if v := p.get("resize_short"); v != nil && v.k != kNull {
		op.ResizeShort = p.int("resize_short", 0)
	}
	if v := p.get("size"); v != nil && v.k != kNull {
		op.W, op.H = r.size(p, "size")
	}
	if op.ResizeShort > 0 {
		op.W, op.H = 0, 0
	} else {
		op.ResizeShort = 0
		if op.W == 0 && len(r.errs) == 0 {
			r.errorf(p.path, "needs resize_short or size")
		}
	}
	p.noop("interpolation", cv2Bilinear, `None or "bilinear"`)
	p.noop("backend", isStr("cv2"), `"cv2"`)
	p.noop("return_numpy", isBool, "True or False (used by the pil backend only)")
	return op
}

// size reads an op's size: an int n for n x n, or [width, height].
func (r *reader) size(p *section, key string) (w, h int) {
	v := p.get(key)
	if v.k == kInt {
		n := p.intRange(key, 1, 1, 1<<14)
		return n, n
	}
	s := p.ints(key, 2)
	if len(s) != 2 {
		return 0, 0
	}
	if s[0] < 1 || s[1] < 1 || s[0] > 1<<14 || s[1] > 1<<14 {
		r.errorf(join(p.path, key), "%v is outside 1..16384", s)
		return 0, 0
	}
	return s[0], s[1]
}

func (r *reader) randomErasing(p *section) data.Op {
	op := data.RandomErasing{RandErase: vision.RandErase{
		Epsilon: r.evalFloat(p, "EPSILON", 0.5), SL: r.evalFloat(p, "sl", 0.02), SH: r.evalFloat(p, "sh", 0.4),
		R1: r.evalFloat(p, "r1", 0.3), Attempt: p.intRange("attempt", 100, 0, 1000),
		LogAspect: p.bool("use_log_aspect", false), Mode: p.str("mode", "const", false),
	}}
	if v := p.get("mean"); v != nil && v.k != kNull {
		if s := p.floats("mean", 3); len(s) == 3 {
			op.Mean = [3]float32{float32(s[0]), float32(s[1]), float32(s[2])}
		}
	}
	switch op.Mode {
	case "const", "rand", "pixel":
	default:
		r.errorf(join(p.path, "mode"), `%q: want "const", "rand" or "pixel"`, op.Mode)
	}
	if op.R1 <= 0 {
		r.errorf(join(p.path, "r1"), "%v must be positive", op.R1)
	}
	return op
}

// evalFloat reads a number that PaddleClas passes through Python's eval
// when it is a string ("1.0/3.0").
func (r *reader) evalFloat(p *section, key string, def float64) float64 {
	v := p.get(key)
	if v == nil || v.k == kNull {
		return def
	}
	x := v
	if v.k == kStr {
		e, err := pyEval(v.s, false)
		if err != nil {
			r.errorf(join(p.path, key), "cannot evaluate %s", v.describe())
			return def
		}
		x = e
	}
	f, ok := number(x)
	if !ok {
		r.errorf(join(p.path, key), "want a number, have %s", v.describe())
		return def
	}
	return f
}

func (r *reader) normalizeImage(p *section) data.Op {
	op := data.NormalizeImage{Scale: float32(1.0 / 255.0), Mean: vision.ImageNetMean, Std: vision.ImageNetStd}
	// A string scale is eval'd ("1.0/255.0"), then made a float32.
	op.Scale = float32(r.evalFloat(p, "scale", float64(op.Scale)))
	for _, c := range []struct {
		key string
		dst *[3]float32
	}{{"mean", &op.Mean}, {"std", &op.Std}} {
		if v := p.get(c.key); v != nil && v.k != kNull {
			if s := p.floats(c.key, 3); len(s) == 3 {
				*c.dst = [3]float32{float32(s[0]), float32(s[1]), float32(s[2])}
			}
		}
	}
	// PaddleClas's default order is "chw", which only fits a channel-first
	// image; every other value means HWC, what DecodeImage gives here.
	order := p.get("order")
	if order == nil || order.k == kStr && order.s == "chw" {
		r.errorf(join(p.path, "order"), `"chw" (the default) needs a channel-first image, which is not supported: set order: ''`)
	} else if order.k != kStr {
		r.errorf(join(p.path, "order"), "want a string, have %s", order.describe())
	}
	p.noop("output_fp16", isFalse, "False")
	p.noop("channel_num", isInt(3), "3")
	return op
}
