package main

import (
	"context"
	"fmt"
	"io"

	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/vision"
)

func runPreprocess(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("preprocess", stderr)
	out := fs.String("output", "", "output .npy, float32 [1,3,224,224]")
	po := addPrepFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *out == "" {
		return usagef("need one IMAGE and --output")
	}
	opt, err := po.options()
	if err != nil {
		return err
	}
	img, err := vision.DecodeFile(pos[0], opt)
	if err != nil {
		return err
	}
	x, err := vision.Preprocess(img, opt)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if err := tensor.WriteNPYFile(*out, x); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s %s (%s mode)\n", *out, tensor.ShapeString(x.Shape), opt.Mode)
	return nil
}
