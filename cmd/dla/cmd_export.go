package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/dla-go/dla"
	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/data"
	"github.com/dla-go/dla/onnx"
	"github.com/dla-go/dla/vision"
)

// syntheticSeed makes `dla export --synthetic` reproducible.
const syntheticSeed = 1

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", stderr)
	model := fs.String("m", "", "model name (default: the architecture recorded in the weight file)")
	wpath := fs.String("w", "", "weight file (safetensors, PyTorch .pth, PaddleClas .pdparams)")
	out := fs.String("o", "", "output ONNX file")
	opset := fs.Int("opset", onnx.DefaultOpset, fmt.Sprintf("ONNX opset, %d to %d", onnx.MinOpset, onnx.MaxOpset))
	softmax := fs.Bool("softmax", false, `end with Softmax: output "probabilities" instead of "logits"`)
	batch := fs.String("batch", "dynamic", "batch size: dynamic (a symbolic dimension) or a fixed N")
	noFold := fs.Bool("no-fold-bn", false, "keep BatchNormalization nodes instead of folding them into the convolutions")
	size := fs.Int("size", 224, "input height and width (a multiple of 32)")
	labels := fs.String("labels", "", `class names to store, "<id> <name>" per line; default ImageNet-1k`)
	mode := fs.String("mode", string(vision.ModePaddle), "preprocessing recorded in the metadata: paddle or timm")
	synthetic := fs.Bool("synthetic", false, "random weights instead of -w (to try the export; predictions mean nothing)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *out == "" {
		return usagef("-o MODEL.onnx is required")
	}
	if *synthetic == (*wpath != "") {
		return usagef("give either -w WEIGHTS or --synthetic (with -m MODEL)")
	}
	if *synthetic && *model == "" {
		return usagef("--synthetic needs -m MODEL")
	}
	if *opset < onnx.MinOpset || *opset > onnx.MaxOpset {
		return usagef("--opset must be in %d..%d, not %d", onnx.MinOpset, onnx.MaxOpset, *opset)
	}
	if err := arch.CheckInputSize(*size, *size); err != nil {
		return usagef("--size: %v", err)
	}
	n := 0
	if *batch != "dynamic" {
		n, err = strconv.Atoi(*batch)
		if err != nil || n < 1 {
			return usagef("--batch must be dynamic or a positive number, not %q", *batch)
		}
	}
	prep, err := preprocessMeta(vision.Mode(*mode), *size)
	if err != nil {
		return err
	}

	var m *dla.Model
	if *synthetic {
		opts := []dla.Option{dla.WithSyntheticWeights(syntheticSeed)}
		if *labels != "" {
			l, err := data.LoadLabels(*labels)
			if err != nil {
				return err
			}
			opts = append(opts, dla.WithLabels(l))
		}
		m, err = dla.Load(*model, opts...)
	} else {
		m, err = openModel(*model, *wpath, *labels)
	}
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	g, err := m.Graph(*size, *size)
	if err != nil {
		return err
	}
	names := make([]string, m.Classes())
	for i := range names {
		names[i] = m.Label(i)
	}
	opt := onnx.Options{Opset: *opset, Softmax: *softmax, Batch: n, KeepBN: *noFold,
		Labels: names, Preprocess: prep, ModelName: m.Variant().Name}
	if err := onnx.WriteFile(*out, g, m.Weights(), opt); err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	dim, output, bn := *batch, "logits", "BatchNorm folded"
	if n == 0 {
		dim = "batch"
	}
	if *softmax {
		output = "probabilities"
	}
	if *noFold {
		bn = "BatchNorm kept"
	}
	fmt.Fprintf(stderr, "wrote %s: %s, input [%s,3,%d,%d] -> %s [%s,%d], opset %d, %s, %.1f MB\n",
		*out, m.Variant().Name, dim, *size, *size, output, dim, m.Classes(), *opset, bn, float64(st.Size())/1e6)
	return nil
}

// preprocessMeta describes the eval pipeline the exported model expects, so
// that a runtime without this program can feed it the same tensor.
func preprocessMeta(mode vision.Mode, size int) (map[string]string, error) {
	var interp string
	switch mode {
	case vision.ModePaddle:
		interp = "OpenCV INTER_LINEAR, round-half-even sizes"
	case vision.ModeTimm:
		interp = "PIL bilinear, antialiased"
	default:
		return nil, usagef("--mode must be paddle or timm, not %q", mode)
	}
	floats := func(v [3]float32) string {
		s := make([]string, 3)
		for i, x := range v {
			s[i] = strconv.FormatFloat(float64(x), 'g', -1, 32)
		}
		return strings.Join(s, ",")
	}
	return map[string]string{
		"mode":          string(mode),
		"resize":        strconv.Itoa(size * 256 / 224), // short side; crop_pct 0.875 as at 224
		"interpolation": interp,
		"crop":          strconv.Itoa(size), // centred square
		"color":         "RGB",
		"scale":         "1/255",
		"mean":          floats(vision.ImageNetMean),
		"std":           floats(vision.ImageNetStd),
		"layout":        "NCHW",
	}, nil
}
