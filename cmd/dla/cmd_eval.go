package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/dla-go/dla/data"
	"github.com/dla-go/dla/internal/progress"
)

type evalResult struct {
	Model    string  `json:"model"`
	Images   int     `json:"images"`
	Failed   int     `json:"failed"`
	Top1     float64 `json:"top1"`
	Top5     float64 `json:"top5"`
	ImagesPS float64 `json:"images_per_s"`
	Seconds  float64 `json:"seconds"`
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", stderr)
	model := fs.String("m", "", "model name (default: the architecture recorded in the weight file)")
	wpath := fs.String("w", "", "weight file (default: the built-in model)")
	dataPath := fs.String("data", "", "PaddleClas list file (\"path label\" per line), an image folder with one sub-folder per class, or an IDX images file (MNIST, Fashion-MNIST; labels beside it)")
	root := fs.String("root", "", "folder the list file's paths are relative to (default: the list file's folder)")
	batch := fs.Int("batch", 32, "images per forward pass")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	po := addPrepFlags(fs)
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
	if *dataPath == "" {
		return usagef("--data is required")
	}
	if *batch < 1 || *batch > 1024 {
		return usagef("--batch must be in 1..1024")
	}
	if _, err := po.options(); err != nil {
		return err
	}
	src, err := evalSource(*dataPath, *root)
	if err != nil {
		return err
	}
	m, err := openModel(*model, *wpath, "")
	if err != nil {
		return err
	}
	opt, err := po.forModel(m)
	if err != nil {
		return err
	}
	cls := m.Classes()
	for i := range src.Len() {
		if l := src.Label(i); l >= cls {
			return fmt.Errorf("%s: label %d of %s is out of range for a model with %d classes", *dataPath, l, src.Name(i), cls)
		}
	}
	bar := progress.New(stderr, "eval", src.Len())
	var top1, top5, seen, failed int
	start := time.Now()
	loader := data.Loader{Source: src, BatchSize: *batch, Options: opt}
	st, err := loader.Run(ctx, func(b *data.Batch) error {
		for _, bad := range b.Errors {
			bar.Println("dla eval: " + itemError(bad))
		}
		failed += len(b.Errors)
		if len(b.Indices) > 0 {
			logits, err := m.Forward(ctx, b.X)
			if err != nil {
				return err
			}
			for i, label := range b.Labels {
				rank := rankOf(logits.Data[i*cls:(i+1)*cls], label)
				if rank < 1 {
					top1++
				}
				if rank < 5 {
					top5++
				}
				seen++
			}
		}
		bar.Update(seen+failed, fmt.Sprintf("top1 %.2f%%", pct(top1, seen)))
		return nil
	})
	if err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	r := evalResult{Model: m.Variant().Name, Images: seen, Failed: st.Failed, Top1: pct(top1, seen), Top5: pct(top5, seen),
		ImagesPS: float64(seen) / el, Seconds: el}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	fmt.Fprintf(stdout, "%s: top-1 %.2f%%  top-5 %.2f%%  on %d images (%d unreadable)  %.1f images/s\n",
		r.Model, r.Top1, r.Top5, r.Images, r.Failed, r.ImagesPS)
	return nil
}

// rankOf is how many classes score strictly higher than the true label
// (ties count in the label's favour, so a rank below k means a top-k hit).
func rankOf(logits []float32, label int) int {
	rank := 0
	for _, v := range logits {
		if v > logits[label] {
			rank++
		}
	}
	return rank
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// evalSource opens a list file, an image folder or an IDX images file.
func evalSource(path, root string) (data.Source, error) {
	src, _, err := data.Open(path, root)
	if err != nil {
		return nil, err
	}
	if src.Len() == 0 {
		return nil, fmt.Errorf("%s: no images", path)
	}
	return src, nil
}
