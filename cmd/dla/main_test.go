package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/dla-go/dla"
	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/internal/kernel/tier"
	"github.com/dla-go/dla/internal/safetensorsrules"
	"github.com/dla-go/dla/onnx"
	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/vision"
	"github.com/dla-go/dla/weights"
)

// dlaRun runs the command in-process and returns its exit code and output.
func dlaRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// syntheticWeightFile writes a dla46_c with synthetic weights and n classes.
func syntheticWeightFile(t *testing.T, classes int) string {
	t.Helper()
	v, _ := arch.Lookup("dla46_c")
	g, err := v.Build(classes, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dla46_c.safetensors")
	meta := map[string]string{"architecture": "dla46_c"}
	if err := weights.WriteSafetensors(path, arch.SyntheticWeights(g, 11), meta); err != nil {
		t.Fatal(err)
	}
	return path
}

func visionImages(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, filepath.Join("..", "..", "testdata", "vision", "images", n))
	}
	return out
}

func TestModelsJSON(t *testing.T) {
	code, out, _ := dlaRun(t, "models", "--json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d lines, want 10", len(lines))
	}
	var first struct {
		Model  string `json:"model"`
		Params int64  `json:"params"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.Model != "dla34" || first.Params != 15742104 {
		t.Errorf("first line %s (%v)", lines[0], err)
	}
}

func TestBenchTrainJSON(t *testing.T) {
	code, out, errs := dlaRun(t, "bench", "--train", "-m", "dla46_c,dla60x_c", "-b", "2", "--size", "32", "--json", "--min-time", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %s", len(lines), out)
	}
	for i, l := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r["model"] != []string{"dla46_c", "dla60x_c"}[i] || r["mode"] != "train" || r["images_per_s"].(float64) <= 0 || r["batch"].(float64) != 2 {
			t.Errorf("bad record %s", l)
		}
	}
}

func TestBenchJSON(t *testing.T) {
	code, out, errs := dlaRun(t, "bench", "-m", "DLA46x_c", "-b", "1,2", "--size", "64", "--json", "--min-time", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2", len(lines))
	}
	for _, l := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"model", "batch", "size", "median_ms", "min_ms", "gflops"} {
			if _, ok := r[k]; !ok {
				t.Errorf("missing %q in %s", k, l)
			}
		}
		if r["model"] != "dla46x_c" || r["median_ms"].(float64) <= 0 {
			t.Errorf("bad record %s", l)
		}
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"nonsense"},
		{"bench", "-b", "0"},
		{"bench", "--size", "100"},
		{"infer", "-m", "dla34"},
		{"predict", "--topk", "0", "-w", "x", "img.png"},
		{"models", "--bogus"},
	} {
		code, _, errs := dlaRun(t, args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, errs)
		}
	}
}

// Every weight format of the fixtures, imported and run, gives PyTorch's
// logits: the fixture weights were rounded to bfloat16 before each file was
// written, so all formats hold the same values as the PyTorch model.
func TestInferMatchesPyTorchAfterImport(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "weights")
	out := filepath.Join(t.TempDir(), "y.npy")
	for _, c := range []struct{ model, file string }{
		{"dla46x_c", "dla46x_c_zip_f32.pth"},
		{"dla46x_c", "dla46x_c_paddle.pdparams"},
		{"dla46x_c", "dla46x_c_official_bf16.pth"},
		{"dla46_c", "dla46_c_legacy_f16.pth"},
		{"dla46_c", "dla46_c_state_dict_f16.safetensors"},
	} {
		code, _, errs := dlaRun(t, "infer", "-m", c.model, "-w", filepath.Join(dir, c.file),
			"--input", filepath.Join(dir, c.model+"_input.npy"), "--output", out)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.file, code, errs)
		}
		got, err := tensor.ReadNPYFile(out)
		if err != nil {
			t.Fatal(err)
		}
		want, err := tensor.ReadNPYFile(filepath.Join(dir, c.model+"_logits.npy"))
		if err != nil {
			t.Fatal(err)
		}
		var d, m float64
		for i := range want.Data {
			d = max(d, abs(float64(got.Data[i]-want.Data[i])))
			m = max(m, abs(float64(want.Data[i])))
		}
		if d > 1e-4*m {
			t.Errorf("%s: max|diff| %.3g > 1e-4 * max|logit| %.3g", c.file, d, m)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestInferBadNPY(t *testing.T) {
	w := syntheticWeightFile(t, 10)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.npy")
	if err := tensor.WriteNPYFile(good, tensor.New(1, 3, 64, 64)); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(good)
	truncated := filepath.Join(dir, "truncated.npy")
	os.WriteFile(truncated, raw[:len(raw)-100], 0o644)
	f64 := filepath.Join(dir, "f64.npy")
	os.WriteFile(f64, bytes.Replace(raw, []byte("<f4"), []byte("<f8"), 1), 0o644)
	badSize := filepath.Join(dir, "size.npy")
	tensor.WriteNPYFile(badSize, tensor.New(1, 3, 50, 64))
	for file, want := range map[string]string{truncated: "truncated", f64: "float32", badSize: "multiples of 32"} {
		code, _, errs := dlaRun(t, "infer", "-m", "dla46_c", "-w", w, "--input", file, "--output", filepath.Join(dir, "y.npy"))
		if code != exitError || !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%s: exit %d, stderr %q; want one line mentioning %q", filepath.Base(file), code, errs, want)
		}
	}
}

func TestPredictJSON(t *testing.T) {
	w := syntheticWeightFile(t, 1000)
	imgs := visionImages("rgb8.png", "q90_420.jpg", "palette.png")
	args := append([]string{"predict", "-w", w, "--topk", "3", "--json"}, imgs...)
	code, out, errs := dlaRun(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	m, err := dla.Open(dla.WithWeights(w))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(imgs) {
		t.Fatalf("%d lines for %d images", len(lines), len(imgs))
	}
	for i, l := range lines {
		var r struct {
			Image       string
			Predictions []dla.Prediction
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		img, err := vision.DecodeFile(imgs[i], vision.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := m.Classify(context.Background(), img, 3)
		if err != nil {
			t.Fatal(err)
		}
		if r.Image != imgs[i] || len(r.Predictions) != 3 || fmt.Sprint(r.Predictions) != fmt.Sprint(want) {
			t.Errorf("%s: got %+v, Classify says %+v", imgs[i], r.Predictions, want)
		}
		if r.Predictions[0].Label != data1k(r.Predictions[0].Class) {
			t.Errorf("label %q for class %d", r.Predictions[0].Label, r.Predictions[0].Class)
		}
	}
}

func data1k(c int) string {
	m, _ := dla.Load("dla46_c", dla.WithSyntheticWeights(0))
	return m.Label(c)
}

func TestPredictReportsBadImagesAndGoesOn(t *testing.T) {
	w := syntheticWeightFile(t, 10)
	bad := filepath.Join(t.TempDir(), "broken.png")
	os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\nnot really"), 0o644)
	labels := filepath.Join(t.TempDir(), "labels.txt")
	var sb strings.Builder
	for i := range 10 {
		fmt.Fprintf(&sb, "%d thing number %d\n", i, i)
	}
	os.WriteFile(labels, []byte(sb.String()), 0o644)
	code, out, errs := dlaRun(t, "predict", "-w", w, "--labels", labels, visionImages("rgb8.png")[0], bad)
	if code != exitError || !strings.Contains(errs, "broken.png") || !strings.Contains(out, "thing number") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	// A labels file whose count does not match the model is refused.
	os.WriteFile(labels, []byte("0 a\n1 b\n"), 0o644)
	code, _, errs = dlaRun(t, "predict", "-w", w, "--labels", labels, visionImages("rgb8.png")[0])
	if code != exitError || !strings.Contains(errs, "2 labels") {
		t.Errorf("label count mismatch: exit %d, %q", code, errs)
	}
}

// Eval counts top-1/top-5 hits: labels made from the model's own ranking give
// known accuracies (rank 0 -> top-1, rank 3 -> top-5 only, rank 7 -> neither).
func TestEvalCountsHits(t *testing.T) {
	w := syntheticWeightFile(t, 10)
	m, err := dla.Open(dla.WithWeights(w))
	if err != nil {
		t.Fatal(err)
	}
	imgs := visionImages("rgb8.png", "q90_420.jpg", "palette.png", "gray8.png", "rgb.bmp", "first.gif")
	dir := t.TempDir()
	var list strings.Builder
	for i, p := range imgs {
		img, err := vision.DecodeFile(p, vision.Options{})
		if err != nil {
			t.Fatal(err)
		}
		preds, err := m.Classify(context.Background(), img, 10)
		if err != nil {
			t.Fatal(err)
		}
		rank := []int{0, 0, 0, 3, 3, 7}[i]
		abs, _ := filepath.Abs(p)
		fmt.Fprintf(&list, "%s %d\n", abs, preds[rank].Class)
	}
	fmt.Fprintf(&list, "%s 1\n", filepath.Join(dir, "missing.jpg"))
	lf := filepath.Join(dir, "val_list.txt")
	os.WriteFile(lf, []byte(list.String()), 0o644)
	code, out, errs := dlaRun(t, "eval", "-w", w, "--data", lf, "--batch", "4", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r evalResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Images != 6 || r.Failed != 1 || r.Top1 != 50 || abs(r.Top5-100*5.0/6) > 1e-9 {
		t.Errorf("eval result %+v, want 6 images, 1 failed, top-1 50%%, top-5 83.3%%", r)
	}
	if !strings.Contains(errs, "missing.jpg") {
		t.Errorf("the unreadable image is not reported: %q", errs)
	}
}

// Eval takes an IDX images file (MNIST's format) with its labels beside it.
func TestEvalIDX(t *testing.T) {
	w := syntheticWeightFile(t, 10)
	m, err := dla.Open(dla.WithWeights(w))
	if err != nil {
		t.Fatal(err)
	}
	const n, side = 4, 28
	header := func(dims ...int) []byte {
		b := []byte{0, 0, 8, byte(len(dims))}
		for _, d := range dims {
			b = append(b, byte(d>>24), byte(d>>16), byte(d>>8), byte(d))
		}
		return b
	}
	images, labels := header(n, side, side), header(n)
	for k := range n {
		img := vision.NewRGB(side, side)
		for i := range side * side {
			g := byte((i*(k+3) + k*40) % 256)
			images = append(images, g)
			img.Pix[3*i], img.Pix[3*i+1], img.Pix[3*i+2] = g, g, g
		}
		preds, err := m.Classify(context.Background(), img, 10)
		if err != nil {
			t.Fatal(err)
		}
		labels = append(labels, byte(preds[[]int{0, 3, 7, 0}[k]].Class))
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "t10k-images-idx3-ubyte")
	os.WriteFile(p, images, 0o644)
	os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), labels, 0o644)
	code, out, errs := dlaRun(t, "eval", "-w", w, "--data", p, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r evalResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Images != 4 || r.Failed != 0 || r.Top1 != 50 || r.Top5 != 75 {
		t.Errorf("eval result %+v, want 4 images, top-1 50%%, top-5 75%%", r)
	}
	labels[len(labels)-1] = 12
	os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), labels, 0o644)
	if code, _, errs := dlaRun(t, "eval", "-w", w, "--data", p); code != exitError || !strings.Contains(errs, "t10k-images-idx3-ubyte[3]") {
		t.Errorf("label out of range: exit %d, %q", code, errs)
	}
}

func TestPreprocessAndConvert(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.npy")
	code, _, errs := dlaRun(t, "preprocess", visionImages("rgb8.png")[0], "--output", out, "--mode", "timm")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	x, err := tensor.ReadNPYFile(out)
	if err != nil || !tensor.SameShape(x.Shape, []int{1, 3, 224, 224}) {
		t.Fatalf("preprocess wrote %v (%v)", x, err)
	}
	conv := filepath.Join(dir, "c.safetensors")
	code, _, errs = dlaRun(t, "convert", filepath.Join("..", "..", "testdata", "weights", "dla46x_c_paddle.pdparams"), conv)
	if code != 0 {
		t.Fatalf("convert: exit %d: %s", code, errs)
	}
	f, err := weights.Load(conv)
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["architecture"] != "dla46x_c" || f.Metadata["source_format"] != "paddle" || f.Metadata["num_classes"] != "10" || f.Metadata["checksum"] != weights.Checksum(f.Tensors) {
		t.Errorf("metadata %v", f.Metadata)
	}
	// Converting onto an existing file replaces it whole; a failed conversion leaves it alone.
	before, _ := os.ReadFile(conv)
	code, _, _ = dlaRun(t, "convert", filepath.Join("..", "..", "testdata", "weights", "evil.pdparams"), conv)
	after, _ := os.ReadFile(conv)
	if code != exitError || !bytes.Equal(before, after) {
		t.Errorf("failed conversion: exit %d, output file changed %v", code, !bytes.Equal(before, after))
	}
}

// Preprocessing a folder writes what preprocessing each image alone writes,
// reports a broken image on one line and goes on; --draft leaves photos
// below twice the resize target as they are.
func TestPreprocessOutputDir(t *testing.T) {
	src := t.TempDir()
	good := visionImages("rgb8.png", "q90_420.jpg")
	for _, p := range good {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(src, filepath.Base(p)), b, 0o644)
	}
	os.WriteFile(filepath.Join(src, "broken.jpg"), []byte("\xff\xd8\xff\xdbnot a jpeg"), 0o644)
	photo := filepath.Join("..", "..", "testdata", "vision", "photos", "images", "chelsea_q90_o6.jpg")
	out := filepath.Join(t.TempDir(), "out")
	code, _, errs := dlaRun(t, "preprocess", src, photo, "--output-dir", out, "--mode", "paddle")
	if code != exitError || strings.Count(errs, "broken.jpg") != 1 || !strings.Contains(errs, "1 of 4 images") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, p := range append(good, photo) {
		got, err := tensor.ReadNPYFile(filepath.Join(out, filepath.Base(p)+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		one := filepath.Join(t.TempDir(), "one.npy")
		if code, _, errs := dlaRun(t, "preprocess", p, "--output", one); code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		want, err := tensor.ReadNPYFile(one)
		if err != nil {
			t.Fatal(err)
		}
		if !tensor.SameShape(got.Shape, want.Shape) || fmt.Sprint(got.Data) != fmt.Sprint(want.Data) {
			t.Errorf("%s: the folder's tensor differs from the single image's", p)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "broken.jpg.npy")); err == nil {
		t.Error("a tensor was written for the broken image")
	}
	// The photo's short side (227) is below twice 256: no scaled decoding.
	plain, draft := filepath.Join(t.TempDir(), "p.npy"), filepath.Join(t.TempDir(), "d.npy")
	dlaRun(t, "preprocess", photo, "--output", plain)
	if code, _, errs := dlaRun(t, "preprocess", photo, "--output", draft, "--draft"); code != 0 {
		t.Fatalf("--draft: exit %d: %s", code, errs)
	}
	a, _ := tensor.ReadNPYFile(plain)
	b, _ := tensor.ReadNPYFile(draft)
	if a == nil || b == nil || fmt.Sprint(a.Data) != fmt.Sprint(b.Data) {
		t.Error("--draft changed a photo smaller than twice the resize target")
	}
	// Two inputs with one file name would overwrite each other: refused.
	if code, _, _ := dlaRun(t, "preprocess", good[0], src, "--output-dir", out); code != exitUsage {
		t.Errorf("clashing names: exit %d, want %d", code, exitUsage)
	}
}

// A file dla preprocess cannot read gets one line that names it once.
func TestPreprocessErrorNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	broken, missing := filepath.Join(dir, "broken.jpg"), filepath.Join(dir, "missing.jpg")
	os.WriteFile(broken, []byte("\xff\xd8\xff\xdbnot a jpeg"), 0o644)
	for _, c := range []struct{ path, want string }{
		{broken, "dla preprocess: " + broken + ": vision: decode header: "},
		{missing, "dla preprocess: vision: open " + missing + ": "},
	} {
		code, _, errs := dlaRun(t, "preprocess", c.path, "--output", filepath.Join(dir, "x.npy"))
		if code != exitError || !strings.HasPrefix(errs, c.want) || strings.Count(errs, "\n") != 1 || strings.Count(errs, c.path) != 1 {
			t.Errorf("exit %d, stderr %q, want one line starting %q", code, errs, c.want)
		}
	}
}

func TestDraftFlagDefaultsOff(t *testing.T) {
	fs := newFlags("predict", io.Discard)
	po := addPrepFlags(fs)
	if _, err := parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	opt, err := po.options()
	if err != nil || opt.Draft {
		t.Fatalf("default options %+v (%v): draft must be off", opt, err)
	}
	if _, err := parse(fs, []string{"--draft"}); err != nil {
		t.Fatal(err)
	}
	if opt, _ := po.options(); !opt.Draft {
		t.Error("--draft did not set Options.Draft")
	}
}

func TestExportWritesAReadableModel(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.onnx")
	w := filepath.Join("..", "..", "testdata", "weights", "dla46x_c_paddle.pdparams")
	code, _, errs := dlaRun(t, "export", "-w", w, "-o", out, "--softmax", "--batch", "2", "--opset", "13")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	m, err := onnx.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if arch, _ := m.Meta("architecture"); arch != "dla46x_c" {
		t.Errorf("architecture metadata %q", arch)
	}
	g := m.Graph
	if len(g.Inputs) != 1 || g.Inputs[0].Name != "input" || len(g.Outputs) != 1 || g.Outputs[0].Name != "probabilities" {
		t.Errorf("inputs %+v outputs %+v", g.Inputs, g.Outputs)
	}
	if d := g.Outputs[0].Dims; len(d) != 2 || d[0].Value != 2 || d[1].Value != 10 {
		t.Errorf("output dims %+v, want [2 10]", d)
	}
	code, _, _ = dlaRun(t, "export", "-w", w, "-o", out, "--opset", "9")
	if code != exitUsage {
		t.Errorf("opset 9: exit %d, want %d", code, exitUsage)
	}
}

// With no weight file, export writes the built-in model at its own input
// size, with its own preprocessing in the metadata.
func TestExportBuiltin(t *testing.T) {
	out := filepath.Join(t.TempDir(), "b.onnx")
	if code, _, errs := dlaRun(t, "export", "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	m, err := onnx.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if d := m.Graph.Inputs[0].Dims; len(d) != 4 || d[2].Value != 32 || d[3].Value != 32 {
		t.Errorf("input dims %+v, want [batch 3 32 32]", d)
	}
	if mean, _ := m.Meta("mean"); mean != "0.286,0.286,0.286" {
		t.Errorf("mean metadata %q", mean)
	}
}

func TestConvertForFineTuning(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ft.safetensors")
	w := filepath.Join("..", "..", "testdata", "weights", "dla46x_c_paddle.pdparams")
	code, _, errs := dlaRun(t, "convert", w, out, "--classes", "5")
	if code != exitError || !strings.Contains(errs, "fc.weight") {
		t.Errorf("new class count without --allow-missing: exit %d, %q", code, errs)
	}
	code, _, errs = dlaRun(t, "convert", w, out, "--classes", "5", "--allow-missing", "fc.*")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	f, err := weights.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := weights.Load(w)
	if s := f.Tensors["fc.weight"].Shape; s[0] != 5 {
		t.Errorf("fc.weight shape %v", s)
	}
	for _, name := range []string{"level5.root.conv.weight", "base_layer.1.running_var"} {
		if fmt.Sprint(f.Tensors[name].Data[:8]) != fmt.Sprint(src.Tensors[name].Data[:8]) {
			t.Errorf("%s changed in conversion", name)
		}
	}
}

func TestVersionNamesTheKernelTier(t *testing.T) {
	old := version
	version = "v1.2.3"
	defer func() { version = old }()
	code, out, _ := dlaRun(t, "version")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"dla v1.2.3\n", "\ncommit ", runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH, "\nkernels: " + tier.String() + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("version output lacks %q:\n%s", want, out)
		}
	}
	if _, help, _ := dlaRun(t, "help"); !strings.HasPrefix(help, "dla v1.2.3 (commit ") || !strings.Contains(help, "  version ") {
		t.Errorf("help does not show the version:\n%s", help)
	}
	if code, _, _ := dlaRun(t, "version", "extra"); code != exitUsage {
		t.Errorf("version extra: exit %d, want %d", code, exitUsage)
	}
}

// A DLA46_c saved by safetensors.torch.save_file(model.half().state_dict())
// (float16 weights, every BatchNorm's int64 num_batches_tracked, no metadata)
// works in every command and gives what its float32 conversion gives
// (TestInferMatchesPyTorchAfterImport checks its logits against PyTorch's).
func TestPyTorchStateDictSafetensors(t *testing.T) {
	fixtures := filepath.Join("..", "..", "testdata", "weights")
	sd := filepath.Join(fixtures, "dla46_c_state_dict_f16.safetensors")
	dir := t.TempDir()

	// convert: float32 tensors, the weights of the other dla46_c fixture, a
	// file the reference implementation loads.
	f32 := filepath.Join(dir, "f32.safetensors")
	if code, _, errs := dlaRun(t, "convert", sd, f32); code != 0 {
		t.Fatalf("convert: exit %d: %s", code, errs)
	}
	raw, err := os.ReadFile(f32)
	if err != nil {
		t.Fatal(err)
	}
	h, err := safetensorsrules.CheckLayout(raw)
	if err != nil {
		t.Fatalf("converted file breaks the reference's rules: %v", err)
	}
	conv, err := weights.Load(f32)
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := weights.Load(filepath.Join(fixtures, "dla46_c_legacy_f16.pth"))
	if err != nil {
		t.Fatal(err)
	}
	if weights.Checksum(conv.Tensors) != weights.Checksum(legacy.Tensors) || len(h.Tensors) != 242 ||
		conv.Metadata["architecture"] != "dla46_c" || conv.Metadata["source_format"] != "safetensors" {
		t.Errorf("converted: %d tensors, metadata %v, same weights as dla46_c_legacy_f16.pth: %v",
			len(h.Tensors), conv.Metadata, weights.Checksum(conv.Tensors) == weights.Checksum(legacy.Tensors))
	}

	// predict: the same output from both files.
	imgs := visionImages("rgb8.png", "q90_420.jpg", "palette.png", "gray8.png")
	predict := func(w string) string {
		code, out, errs := dlaRun(t, append([]string{"predict", "-w", w, "--topk", "3", "--json"}, imgs...)...)
		if code != 0 {
			t.Fatalf("predict -w %s: exit %d: %s", w, code, errs)
		}
		return out
	}
	want := predict(f32)
	if got := predict(sd); got != want {
		t.Errorf("predict: state dict file\n%s\nfloat32 file\n%s", got, want)
	}

	// eval, labelled with the float32 file's top-1: all hits.
	var list strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(want), "\n") {
		var r struct {
			Image       string
			Predictions []dla.Prediction
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		abs, _ := filepath.Abs(r.Image)
		fmt.Fprintf(&list, "%s %d\n", abs, r.Predictions[0].Class)
	}
	lf := filepath.Join(dir, "val_list.txt")
	os.WriteFile(lf, []byte(list.String()), 0o644)
	code, out, errs := dlaRun(t, "eval", "-w", sd, "--data", lf, "--json")
	var r evalResult
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.Model != "dla46_c" || r.Images != len(imgs) || r.Top1 != 100 {
		t.Errorf("eval: exit %d, %s %s", code, out, errs)
	}

	// export: the same ONNX bytes as from the float32 file.
	export := func(w string) []byte {
		out := filepath.Join(dir, filepath.Base(w)+".onnx")
		if code, _, errs := dlaRun(t, "export", "-w", w, "-o", out); code != 0 {
			t.Fatalf("export -w %s: exit %d: %s", w, code, errs)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if !bytes.Equal(export(sd), export(f32)) {
		t.Error("export: the state dict file and its float32 conversion give different ONNX files")
	}
}

// convert --dtype f16 halves the file and keeps what the metadata says about
// the model (labels, preprocessing); the checksum is the stored values'.
func TestConvertHalf(t *testing.T) {
	dir := t.TempDir()
	src, err := dla.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "in.safetensors")
	if err := weights.WriteSafetensors(in, map[string]*tensor.Tensor(src.Weights()), src.Describe(nil)); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "half.safetensors")
	if code, _, errs := dlaRun(t, "convert", in, out, "--dtype", "f16"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	a, _ := os.Stat(in)
	b, _ := os.Stat(out)
	if b.Size() > a.Size()/2+64<<10 {
		t.Errorf("f16 file of %d bytes from %d", b.Size(), a.Size())
	}
	m, err := dla.Open(dla.WithWeights(out))
	if err != nil {
		t.Fatal(err)
	}
	if m.Label(9) != "Ankle boot" || m.Preprocessing().Resolved().Crop != 32 {
		t.Errorf("metadata lost: label %q, preprocessing %+v", m.Label(9), m.Preprocessing())
	}
	if got := weights.Checksum(map[string]*tensor.Tensor(m.Weights())); got != m.Metadata()[dla.MetaChecksum] {
		t.Errorf("checksum %s, file says %s", got, m.Metadata()[dla.MetaChecksum])
	}
	if code, _, _ := dlaRun(t, "convert", in, out, "--dtype", "f8"); code != exitUsage {
		t.Errorf("--dtype f8: exit %d", code)
	}
}
