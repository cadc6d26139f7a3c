package main

import (
	"flag"

	"github.com/dla-go/dla/vision"
)

// prepFlags are the preprocessing flags shared by predict, eval and preprocess.
type prepFlags struct {
	mode  *string
	exif  *string
	draft *bool
}

func addPrepFlags(fs *flag.FlagSet) prepFlags {
	return prepFlags{
		mode: fs.String("mode", "paddle", "preprocessing: paddle (PaddleClas eval, OpenCV resize) or timm (PIL resize)"),
		exif: fs.String("exif", "auto", "EXIF orientation: auto (as the mode's reference: paddle applies, timm ignores), apply, ignore"),
		draft: fs.Bool("draft", false, "decode large JPEGs at 1/2, 1/4 or 1/8 scale (libjpeg's scaled decoding, Pillow's draft mode)\n"+
			"while the short side stays at least twice the resize target: faster, but not the reference pixels"),
	}
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
