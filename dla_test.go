package dla_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dla-go/dla"
	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/nn"
	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/weights"
)

func TestForwardAnyMultipleOf32(t *testing.T) {
	m, err := dla.Load("DLA46x_c", dla.WithSyntheticWeights(3), dla.WithClasses(10))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	y, err := m.Forward(ctx, arch.SyntheticInput(2, 160, 192, 1))
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(y.Shape, []int{2, 10}) {
		t.Fatalf("logits shape %v, want [2 10]", y.Shape)
	}
	for _, shape := range [][]int{{1, 3, 100, 100}, {1, 3, 224, 230}} {
		_, err := m.Forward(ctx, tensor.New(shape...))
		if err == nil || !strings.Contains(err.Error(), "multiples of 32") {
			t.Errorf("%v: error %v, want one that names the valid sizes", shape, err)
		}
	}
	if _, err := m.Forward(ctx, tensor.New(1, 1, 64, 64)); err == nil {
		t.Error("a one-channel input was accepted")
	}
}

func TestModelIsSafeForConcurrentUse(t *testing.T) {
	m, err := dla.Load("dla46_c", dla.WithSyntheticWeights(1))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sizes := []int{64, 96, 128}
	want := map[int][]float32{}
	for _, s := range sizes {
		y, err := m.Forward(ctx, arch.SyntheticInput(1, s, s, 5))
		if err != nil {
			t.Fatal(err)
		}
		want[s] = y.Data
	}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := sizes[i%len(sizes)]
			y, err := m.Forward(ctx, arch.SyntheticInput(1, s, s, 5))
			if err != nil {
				t.Error(err)
				return
			}
			for j, v := range y.Data {
				if v != want[s][j] {
					t.Errorf("size %d: concurrent result differs at %d", s, j)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestLoadErrors(t *testing.T) {
	if _, err := dla.Load("resnet50", dla.WithSyntheticWeights(0)); err == nil || !strings.Contains(err.Error(), "unknown model") {
		t.Errorf("unknown model: %v", err)
	}
	if _, err := dla.Load("dla34"); err == nil {
		t.Error("no weights source accepted")
	}
	if _, err := dla.Load("dla34", dla.WithWeights(filepath.Join(t.TempDir(), "missing.safetensors"))); err == nil {
		t.Error("missing weight file accepted")
	}
}

// A weight file written for one variant is refused by another with every
// mismatch named, and Open finds the right variant by itself.
func TestStrictBindingAndOpen(t *testing.T) {
	v, _ := arch.Lookup("dla46_c")
	g, err := v.Build(10, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := weights.WriteSafetensors(path, arch.SyntheticWeights(g, 4), nil); err != nil {
		t.Fatal(err)
	}
	_, err = dla.Load("dla46x_c", dla.WithWeights(path))
	if err == nil || !strings.Contains(err.Error(), "level2.tree1.conv2.weight") {
		t.Errorf("dla46x_c from dla46_c weights: %v", err)
	}
	m, err := dla.Open(dla.WithWeights(path))
	if err != nil {
		t.Fatal(err)
	}
	if m.Variant().Name != "dla46_c" || m.Classes() != 10 {
		t.Errorf("Open found %s with %d classes", m.Variant().Name, m.Classes())
	}
	// A new classifier for fine-tuning: fc.* may be missing when allowed.
	w := arch.SyntheticWeights(g, 4)
	delete(w, "fc.weight")
	delete(w, "fc.bias")
	if _, err := dla.Load("dla46_c", dla.WithWeightsMap(nn.Weights(w)), dla.WithClasses(10)); err == nil {
		t.Error("missing fc accepted without WithAllowMissing")
	}
	if _, err := dla.Load("dla46_c", dla.WithWeightsMap(nn.Weights(w)), dla.WithClasses(10), dla.WithAllowMissing("fc.*")); err != nil {
		t.Errorf("WithAllowMissing(fc.*): %v", err)
	}
}
