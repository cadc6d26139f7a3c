package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dla-go/dla/data"
	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/vision"
)

func runPreprocess(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("preprocess", stderr)
	out := fs.String("output", "", "output .npy for one IMAGE, float32 [1,3,224,224]")
	outDir := fs.String("output-dir", "", "folder for one .npy per image, OUT/<file name>.npy (IMAGE|DIR...)")
	po := addPrepFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if (*out == "") == (*outDir == "") {
		return usagef("give --output X.npy (one IMAGE) or --output-dir OUT (IMAGE|DIR...)")
	}
	if len(pos) == 0 || (*out != "" && len(pos) != 1) {
		return usagef("--output takes one IMAGE; use --output-dir for several")
	}
	opt, err := po.options()
	if err != nil {
		return err
	}
	if *out != "" {
		return preprocessOne(pos[0], *out, opt, stderr)
	}
	return preprocessMany(ctx, pos, *outDir, opt, stderr)
}

func preprocessOne(path, out string, opt vision.Options, stderr io.Writer) error {
	if err := opt.Validate(); err != nil {
		return err
	}
	x := tensor.New(append([]int{1}, opt.InputShape()...)...)
	if err := vision.PreprocessFile(x.Data, path, opt); err != nil {
		return err
	}
	if err := tensor.WriteNPYFile(out, x); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s %s (%s mode)\n", out, tensor.ShapeString(x.Shape), opt.Mode)
	return nil
}

// preprocessMany writes OUT/<file name>.npy for every image, decoding in
// parallel; an image that fails gets one line and the others go on.
func preprocessMany(ctx context.Context, args []string, outDir string, opt vision.Options, stderr io.Writer) error {
	files, err := collectImages(args)
	if err != nil {
		return err
	}
	outputs := make([]string, len(files))
	seen := map[string]string{}
	for i, f := range files {
		outputs[i] = filepath.Join(outDir, filepath.Base(f)+".npy")
		if prev, ok := seen[outputs[i]]; ok {
			return usagef("%s and %s would both be written to %s", prev, f, outputs[i])
		}
		seen[outputs[i]] = f
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	items := make([]data.Item, len(files))
	for i, f := range files {
		items[i] = data.Item{Path: f}
	}
	shape := append([]int{1}, opt.InputShape()...)
	loader := data.Loader{Source: data.Items(items), BatchSize: 16, Options: opt}
	written := 0
	st, err := loader.Run(ctx, func(b *data.Batch) error {
		for _, bad := range b.Errors {
			fmt.Fprintf(stderr, "dla preprocess: %s\n", itemError(bad))
		}
		per := shape[1] * shape[2] * shape[3]
		for i, idx := range b.Indices {
			x := &tensor.Tensor{Shape: shape, Data: b.X.Data[i*per : (i+1)*per]}
			if err := tensor.WriteNPYFile(outputs[idx], x); err != nil {
				return err
			}
			written++
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %d files %s to %s (%s mode)\n", written, tensor.ShapeString(shape), outDir, opt.Mode)
	if st.Failed > 0 {
		return fmt.Errorf("%d of %d images could not be preprocessed", st.Failed, st.Items)
	}
	return nil
}
