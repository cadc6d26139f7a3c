//go:build js && wasm

// Command module is the browser page's WebAssembly program (GOOS=js
// GOARCH=wasm): it classifies the images the page hands it with the built-in
// model or a weight file the person picked, through the same decoding,
// preprocessing and engine as `dla predict`. It publishes its functions as
// the global object dla (see index.html), then calls the page's
// dlaStarted().
package main

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"syscall/js"
	"time"

	"github.com/dla-go/dla"
	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/vision"
)

// maxWeightBytes caps a picked weight file before it is copied out of the
// page: DLA102x2's float32 safetensors are 400 MB.
const maxWeightBytes = 512 << 20

// model is the model classify uses: builtinModel until the person picks a
// weight file.
var model, builtinModel *dla.Model

func main() {
	m, err := dla.Builtin()
	if err != nil {
		js.Global().Call("dlaStarted", err.Error())
		select {}
	}
	model, builtinModel = m, m
	api := js.Global().Get("Object").New()
	api.Set("classify", js.FuncOf(classify))
	api.Set("loadWeights", js.FuncOf(loadWeights))
	api.Set("useBuiltin", js.FuncOf(useBuiltin))
	api.Set("describe", js.FuncOf(func(js.Value, []js.Value) any { return describe(model) }))
	api.Set("bench", js.FuncOf(bench))
	js.Global().Set("dla", api)
	js.Global().Call("dlaStarted", js.Null())
	select {}
}

// result is a JS object {error: msg} or {ok fields...}.
func failure(err error) any { return map[string]any{"error": err.Error()} }

// readBytes copies a Uint8Array of at most limit bytes into Go.
func readBytes(v js.Value, limit int) ([]byte, bool) {
	if v.Type() != js.TypeObject || !v.InstanceOf(js.Global().Get("Uint8Array")) {
		return nil, false
	}
	n := v.Get("length").Int()
	if n > limit {
		return nil, false
	}
	b := make([]byte, n)
	js.CopyBytesToGo(b, v)
	return b, true
}

func describe(m *dla.Model) any {
	opt := m.Preprocessing().Resolved()
	return map[string]any{"model": m.Variant().Name, "classes": m.Classes(), "size": opt.Crop, "builtin": m == builtinModel}
}

// classify(image Uint8Array, k) returns {predictions: [{class, label,
// score}], decode_ms, forward_ms, total_ms}.
func classify(_ js.Value, args []js.Value) any {
	if len(args) < 1 {
		return map[string]any{"error": "classify(image bytes, k)"}
	}
	k := 5
	if len(args) > 1 && args[1].Type() == js.TypeNumber {
		k = max(1, args[1].Int())
	}
	opt := model.Preprocessing()
	raw, ok := readBytes(args[0], vision.DefaultMaxBytes)
	if !ok {
		return map[string]any{"error": "the image must be a Uint8Array of at most " + strconv.Itoa(vision.DefaultMaxBytes) + " bytes"}
	}
	t0 := time.Now()
	x := tensor.New(append([]int{1}, opt.InputShape()...)...)
	if err := vision.PreprocessBytes(x.Data, raw, opt); err != nil {
		return failure(err)
	}
	t1 := time.Now()
	logits, err := model.Forward(context.Background(), x)
	if err != nil {
		return failure(err)
	}
	t2 := time.Now()
	var preds []any
	for _, p := range model.TopK(logits.Data, k) {
		preds = append(preds, map[string]any{"class": p.Class, "label": p.Label, "score": p.Score})
	}
	return map[string]any{"predictions": preds, "decode_ms": ms(t1.Sub(t0)), "forward_ms": ms(t2.Sub(t1)), "total_ms": ms(t2.Sub(t0))}
}

// loadWeights(file Uint8Array, name) makes the picked weight file the
// model; it returns describe()'s object or {error}.
func loadWeights(_ js.Value, args []js.Value) any {
	if len(args) < 1 {
		return map[string]any{"error": "loadWeights(file bytes, name)"}
	}
	raw, ok := readBytes(args[0], maxWeightBytes)
	if !ok {
		return map[string]any{"error": "the weight file must be a Uint8Array of at most " + strconv.Itoa(maxWeightBytes) + " bytes"}
	}
	name := "weights"
	if len(args) > 1 && args[1].Type() == js.TypeString {
		name = args[1].String()
	}
	m, err := dla.Open(dla.WithWeightsReader(name, bytes.NewReader(raw), int64(len(raw))))
	if err != nil {
		return failure(err)
	}
	model = m
	return describe(m)
}

func useBuiltin(js.Value, []js.Value) any {
	model = builtinModel
	return describe(model)
}

// bench(which, runs) times the forward pass alone, after one untimed run:
// which is "builtin" (the built-in model at its 32x32 input) or "synthetic"
// (DLA46_c at 224x224 with synthetic weights). It returns {median_ms,
// min_ms, runs}.
func bench(_ js.Value, args []js.Value) any {
	if len(args) < 2 || args[0].Type() != js.TypeString || args[1].Type() != js.TypeNumber {
		return map[string]any{"error": "bench(\"builtin\"|\"synthetic\", runs)"}
	}
	runs := min(max(1, args[1].Int()), 1000)
	var m *dla.Model
	size := 32
	switch args[0].String() {
	case "builtin":
		m = builtinModel
	case "synthetic":
		var err error
		if m, err = dla.Load(dla.BuiltinName, dla.WithSyntheticWeights(1)); err != nil {
			return failure(err)
		}
		size = 224
	default:
		return map[string]any{"error": "bench: which must be builtin or synthetic"}
	}
	x := arch.SyntheticInput(1, size, size, 2)
	ctx := context.Background()
	if _, err := m.Forward(ctx, x); err != nil {
		return failure(err)
	}
	times := make([]float64, runs)
	for i := range times {
		t0 := time.Now()
		if _, err := m.Forward(ctx, x); err != nil {
			return failure(err)
		}
		times[i] = ms(time.Since(t0))
	}
	slices.Sort(times)
	return map[string]any{"median_ms": times[runs/2], "min_ms": times[0], "runs": runs, "size": size}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
