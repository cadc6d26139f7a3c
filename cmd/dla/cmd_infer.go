package main

import (
	"context"
	"fmt"
	"io"

	"github.com/dla-go/dla"
	"github.com/dla-go/dla/tensor"
)

func runInfer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("infer", stderr)
	model := fs.String("m", "", "model name (e.g. dla34)")
	wpath := fs.String("w", "", "weight file")
	in := fs.String("input", "", "input .npy, float32 [N,3,H,W]")
	out := fs.String("output", "", "output .npy for the logits [N,classes]")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := checkModelName(*model); err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *model == "" || *wpath == "" || *in == "" || *out == "" {
		return usagef("-m, -w, --input and --output are required")
	}
	x, err := tensor.ReadNPYFile(*in)
	if err != nil {
		return err
	}
	m, err := dla.Load(*model, dla.WithWeights(*wpath))
	if err != nil {
		return err
	}
	y, err := m.Forward(ctx, x)
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	if err := tensor.WriteNPYFile(*out, y); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s %s\n", *out, tensor.ShapeString(y.Shape))
	return nil
}
