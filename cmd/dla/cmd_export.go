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
	wpath := fs.String("w", "", "weight file (safetensors, PyTorch .pth, PaddleClas .pdparams); default: the built-in model")
	out := fs.String("o", "", "output ONNX file")
	opset := fs.Int("opset", onnx.DefaultOpset, fmt.Sprintf("ONNX opset, %d to %d", onnx.MinOpset, onnx.MaxOpset))
	softmax := fs.Bool("softmax", false, `end with Softmax: output "probabilities" instead of "logits"`)
	batch := fs.String("batch", "dynamic", "batch size: dynamic (a symbolic dimension) or a fixed N")
	noFold := fs.Bool("no-fold-bn", false, "keep BatchNormalization nodes instead of folding them into the convolutions")
	size := fs.Int("size", 0, "input height and width (a multiple of 32; default: the model's crop, 224 for ImageNet weights)")
	labels := fs.String("labels", "", `class names to store, "<id> <name>" per line; default ImageNet-1k`)
	mode := fs.String("mode", "", "preprocessing recorded in the metadata: paddle or timm (default: the model's own)")
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
	if *synthetic && *wpath != "" {
		return usagef("give -w WEIGHTS or --synthetic (with -m MODEL), not both")
	}
	if *synthetic && *model == "" {
		return usagef("--synthetic needs -m MODEL")
	}
	if *opset < onnx.MinOpset || *opset > onnx.MaxOpset {
		return usagef("--opset must be in %d..%d, not %d", onnx.MinOpset, onnx.MaxOpset, *opset)
	}
	if *size != 0 {
		if err := arch.CheckInputSize(*size, *size); err != nil {
			return usagef("--size: %v", err)
		}
	}
	if *mode != "" && *mode != string(vision.ModePaddle) && *mode != string(vision.ModeTimm) {
		return usagef("--mode must be paddle or timm, not %q", *mode)
	}
	n := 0
	if *batch != "dynamic" {
		n, err = strconv.Atoi(*batch)
		if err != nil || n < 1 {
			return usagef("--batch must be dynamic or a positive number, not %q", *batch)
		}
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
	own := m.Preprocessing().Resolved()
	if *mode != "" {
		own.Mode = vision.Mode(*mode)
	}
	if *size == 0 {
		*size = own.Crop
	}
	prep := preprocessMeta(own, *size)
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

// preprocessMeta describes the eval pipeline the exported model expects
// (the model's own, at size), so that a runtime without this program can
// feed it the same tensor.
func preprocessMeta(own vision.Options, size int) map[string]string {
	interp := "OpenCV INTER_LINEAR, round-half-even sizes"
	if own.Mode == vision.ModeTimm {
		interp = "PIL bilinear, antialiased"
	}
	floats := func(v [3]float32) string {
		s := make([]string, 3)
		for i, x := range v {
			s[i] = strconv.FormatFloat(float64(x), 'g', -1, 32)
		}
		return strings.Join(s, ",")
	}
	scale := "1/255"
	if own.Scale != float32(1.0/255.0) {
		scale = strconv.FormatFloat(float64(own.Scale), 'g', -1, 32)
	}
	return map[string]string{
		"mode":          string(own.Mode),
		"resize":        strconv.Itoa(size * own.ResizeShort / own.Crop), // short side, the model's crop ratio
		"interpolation": interp,
		"crop":          strconv.Itoa(size), // centred square
		"color":         "RGB",
		"scale":         scale,
		"mean":          floats(own.Mean),
		"std":           floats(own.Std),
		"layout":        "NCHW",
	}
}
