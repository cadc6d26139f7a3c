package main

import (
	"flag"

	"github.com/dla-go/dla"
	"github.com/dla-go/dla/vision"
)

// prepFlags are the preprocessing flags shared by predict, eval and preprocess.
type prepFlags struct {
	fs    *flag.FlagSet
	mode  *string
	exif  *string
	draft *bool
}

func addPrepFlags(fs *flag.FlagSet) prepFlags {
	return prepFlags{
		fs:   fs,
		mode: fs.String("mode", "paddle", "preprocessing: paddle (PaddleClas eval, OpenCV resize) or timm (PIL resize); default: the model's own"),
		exif: fs.String("exif", "auto", "EXIF orientation: auto (as the mode's reference: paddle applies, timm ignores), apply, ignore"),
		draft: fs.Bool("draft", false, "decode large JPEGs at 1/2, 1/4 or 1/8 scale (libjpeg's scaled decoding, Pillow's draft mode)\n"+
			"while the short side stays at least twice the resize target: faster, but not the reference pixels"),
	}
}

// forModel starts from the preprocessing m records (sizes, mean, std) and
// applies the flags given on the command line.
func (p prepFlags) forModel(m *dla.Model) (vision.Options, error) {
	opt, err := p.options()
	if err != nil {
		return opt, err
	}
	own := m.Preprocessing()
	modeSet := false
	p.fs.Visit(func(f *flag.Flag) { modeSet = modeSet || f.Name == "mode" })
	if !modeSet {
		opt.Mode = own.Mode
	}
	opt.ResizeShort, opt.Crop, opt.Mean, opt.Std, opt.Scale = own.ResizeShort, own.Crop, own.Mean, own.Std, own.Scale
	return opt, nil
}

func (p prepFlags) options() (vision.Options, error) {
	opt := vision.Options{Mode: vision.Mode(*p.mode), Draft: *p.draft}
	switch *p.exif {
	case "auto":
		opt.EXIF = vision.EXIFAuto
	case "apply":
		opt.EXIF = vision.EXIFApply
	case "ignore":
		opt.EXIF = vision.EXIFIgnore
	default:
		return opt, usagef("--exif must be auto, apply or ignore, not %q", *p.exif)
	}
	if opt.Mode != vision.ModePaddle && opt.Mode != vision.ModeTimm {
		return opt, usagef("--mode must be paddle or timm, not %q", *p.mode)
	}
	return opt, nil
}
