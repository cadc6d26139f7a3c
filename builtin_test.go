package dla

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/vision"
	"github.com/dla-go/dla/weights"
)

func TestBuiltinModelDescribesItself(t *testing.T) {
	m, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if m.Variant().Name != BuiltinName || m.Classes() != 10 {
		t.Fatalf("built-in model is %s with %d classes", m.Variant().Name, m.Classes())
	}
	if m.Label(9) != "Ankle boot" {
		t.Errorf("class 9 is %q", m.Label(9))
	}
	if p := m.Preprocessing().Resolved(); p.Crop != 32 || p.ResizeShort != 32 {
		t.Errorf("preprocessing %+v, want 32x32 inputs", p)
	}
	if _, err := Builtin(WithWeights("x.safetensors")); err == nil {
		t.Error("Builtin accepted a weight file")
	}
}

// Labels and preprocessing written by Describe come back from the file.
func TestMetadataRoundTrip(t *testing.T) {
	prep := vision.Options{ResizeShort: 40, Crop: 32, Mean: [3]float32{0.5, 0.4, 0.3}, Std: [3]float32{0.2, 0.2, 0.1}}
	labels := []string{"a", "b", "c"}
	m, err := Load("dla46_c", WithSyntheticWeights(3), WithClasses(3), WithLabels(labels), WithPreprocessing(prep))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := weights.WriteSafetensors(path, map[string]*tensor.Tensor(m.Weights()), m.Describe(nil)); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := Open(WithWeights(path))
	if err != nil {
		t.Fatal(err)
	}
	// A file in memory (the browser page's) reads the same.
	fromMemory, err := Open(WithWeightsReader("picked.safetensors", bytes.NewReader(raw), int64(len(raw))))
	if err != nil {
		t.Fatal(err)
	}
	for _, back := range []*Model{fromFile, fromMemory} {
		if got := back.Labels(); len(got) != 3 || got[2] != "c" {
			t.Errorf("labels %q", got)
		}
		if got, want := back.Preprocessing().Resolved(), prep.Resolved(); got != want {
			t.Errorf("preprocessing %+v, want %+v", got, want)
		}
	}
	if _, err := Open(WithWeightsReader("picked.safetensors", bytes.NewReader(raw[:100]), 100)); err == nil || !strings.HasPrefix(err.Error(), "picked.safetensors: ") {
		t.Errorf("truncated file in memory: %v", err)
	}
	// Another class count: the file's names no longer apply.
	other, err := Open(WithWeights(path), WithClasses(5), WithAllowMissing("fc.*"))
	if err != nil {
		t.Fatal(err)
	}
	if other.Labels() != nil {
		t.Errorf("labels %q kept for 5 classes", other.Labels())
	}
}

// Each sample image (samples/<index>_<class>.png) is classified as its name says.
func TestBuiltinClassifiesSamples(t *testing.T) {
	m, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	paths, err := filepath.Glob("samples/*.png")
	if err != nil || len(paths) != 10 {
		t.Fatalf("want the 10 sample images, have %d (%v)", len(paths), err)
	}
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		preds, err := m.Classify(context.Background(), img, 1)
		if err != nil {
			t.Fatal(err)
		}
		// 0019_tshirt_top.png names the class "T-shirt/top".
		want := strings.SplitN(strings.TrimSuffix(filepath.Base(path), ".png"), "_", 2)[1]
		got := strings.NewReplacer("-", "", "/", "_", " ", "_").Replace(strings.ToLower(preds[0].Label))
		if got != want {
			t.Errorf("%s: classified as %q (%.2f)", path, preds[0].Label, preds[0].Score)
		}
	}
}
