package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dla-go/dla"
	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/data"
)

func runPredict(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("predict", stderr)
	model := fs.String("m", "", "model name (default: the architecture recorded in the weight file)")
	wpath := fs.String("w", "", "weight file (safetensors, PyTorch .pth, PaddleClas .pdparams); default: the built-in model")
	topk := fs.Int("topk", 5, "number of classes to show per image")
	asJSON := fs.Bool("json", false, "one JSON object per image")
	labels := fs.String("labels", "", `class names, "<id> <name>" per line (PaddleClas format); default ImageNet-1k`)
	batch := fs.Int("batch", 8, "images per forward pass")
	po := addPrepFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := checkModelName(*model); err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("give at least one IMAGE or DIR")
	}
	if *topk < 1 || *batch < 1 || *batch > 256 {
		return usagef("--topk must be >= 1 and --batch in 1..256")
	}
	if _, err := po.options(); err != nil {
		return err
	}
	files, err := collectImages(pos)
	if err != nil {
		return err
	}
	m, err := openModel(*model, *wpath, *labels)
	if err != nil {
		return err
	}
	opt, err := po.forModel(m)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	items := make([]data.Item, len(files))
	for i, f := range files {
		items[i] = data.Item{Path: f}
	}
	loader := data.Loader{Source: data.Items(items), BatchSize: *batch, Options: opt}
	cls := m.Classes()
	st, err := loader.Run(ctx, func(b *data.Batch) error {
		for _, bad := range b.Errors {
			fmt.Fprintf(stderr, "dla predict: %s\n", itemError(bad))
		}
		if len(b.Indices) == 0 {
			return nil
		}
		logits, err := m.Forward(ctx, b.X)
		if err != nil {
			return err
		}
		for i, idx := range b.Indices {
			path := files[idx]
			preds := m.TopK(logits.Data[i*cls:(i+1)*cls], *topk)
			if *asJSON {
				if err := enc.Encode(dla.Classification{Image: path, Predictions: preds}); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintln(stdout, path)
			for r, p := range preds {
				fmt.Fprintf(stdout, "  %d. %5d  %.5f  %s\n", r+1, p.Class, p.Score, p.Label)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if st.Failed > 0 {
		return fmt.Errorf("%d of %d images could not be classified", st.Failed, st.Items)
	}
	return nil
}

// openModel loads weights for a named model, or for the architecture the
// file records (or whose shapes it has) when name is empty. With no weight
// file it is the built-in model.
func openModel(name, wpath, labelsPath string, extra ...dla.Option) (*dla.Model, error) {
	opts := extra
	if wpath != "" {
		opts = append([]dla.Option{dla.WithWeights(wpath)}, extra...)
	}
	if labelsPath != "" {
		labels, err := data.LoadLabels(labelsPath)
		if err != nil {
			return nil, err
		}
		opts = append(opts, dla.WithLabels(labels))
	}
	switch {
	case wpath == "" && name != "" && !dla.IsBuiltin(name):
		return nil, usagef("-w WEIGHTS is required for %s (the built-in model is %s; `dla convert` imports timm and PaddleClas files)", name, dla.BuiltinName)
	case wpath == "":
		return dla.Builtin(opts...)
	case name == "":
		return dla.Open(opts...)
	}
	return dla.Load(name, opts...)
}

// itemError names the image an error is about, once.
func itemError(e data.ItemError) string {
	msg := e.Err.Error()
	if !strings.Contains(msg, e.Path) {
		msg = e.Path + ": " + msg
	}
	return msg
}

// checkModelName refuses an unknown -m before any file is read.
func checkModelName(name string) error {
	if name == "" {
		return nil
	}
	if _, err := arch.Lookup(name); err != nil {
		return usagef("%v", err)
	}
	return nil
}

// collectImages expands directories (recursively, sorted) into image files.
func collectImages(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && isImage(p) {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no images (%s)", a, strings.Join(data.ImageExtensions, ", "))
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

func isImage(p string) bool {
	ext := strings.ToLower(filepath.Ext(p))
	for _, e := range data.ImageExtensions {
		if ext == e {
			return true
		}
	}
	return false
}
