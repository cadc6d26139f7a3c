package nn_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/nn"
	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/weights"
)

// goldenCases mirror testdata/golden/gen.py: PyTorch (../shared/peers/dla_ref.py)
// logits for synthetic weights (seed 0), calibrated BN statistics and the
// seed-0 synthetic input.
var goldenCases = []struct {
	model       string
	size, batch int
}{
	{"dla34", 64, 2}, {"dla46_c", 64, 2}, {"dla46x_c", 64, 2}, {"dla60", 64, 2}, {"dla60x", 64, 2},
	{"dla60x_c", 64, 2}, {"dla102", 64, 2}, {"dla102x", 64, 2}, {"dla102x2", 64, 2}, {"dla169", 64, 2},
	{"dla34", 224, 1}, {"dla46x_c", 224, 1},
}

// shortGolden are the models -short keeps (the arm64 and armv7 runs under
// emulation): basic blocks, bottlenecks, grouped bottlenecks, and thin
// groups that the engine merges.
var shortGolden = map[string]bool{"dla34": true, "dla46_c": true, "dla46x_c": true, "dla60x_c": true}

func goldenDir() string { return filepath.Join("..", "testdata", "golden") }

// goldenWeights are the synthetic weights of gen.py with its calibrated BN statistics.
func goldenWeights(t testing.TB, g *nn.Graph, model string) nn.Weights {
	t.Helper()
	w := nn.Weights(arch.SyntheticWeights(g, 0))
	f, err := weights.Load(filepath.Join(goldenDir(), model+"_bnstats.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range f.Tensors {
		if _, ok := w[name]; !ok {
			t.Fatalf("bn statistics file has unknown tensor %s", name)
		}
		w[name] = st
	}
	return w
}

// Every algorithm set must match: the default (Winograd for wide 3x3
// convolutions, thin groups merged; batches image by image), the same on
// whole batches, and plain
// GEMM/direct kernels.
func TestGoldenLogitsMatchPyTorch(t *testing.T) {
	for _, opt := range []nn.Options{{}, {WholeBatch: true}, {NoWinograd: true, NoRegroup: true}} {
		t.Run(fmt.Sprintf("fast=%v/whole=%v", !opt.NoWinograd, opt.WholeBatch), func(t *testing.T) { testGolden(t, opt) })
	}
}

func testGolden(t *testing.T, opt nn.Options) {
	for _, c := range goldenCases {
		t.Run(fmt.Sprintf("%s_%d_b%d", c.model, c.size, c.batch), func(t *testing.T) {
			if testing.Short() && (c.size > 64 || !shortGolden[c.model]) {
				t.Skip("in -short mode only the 64x64 cases of one model per kind of block")
			}
			v, _ := arch.Lookup(c.model)
			g, err := v.Build(1000, c.size, c.size)
			if err != nil {
				t.Fatal(err)
			}
			e, err := nn.CompileWith(g, goldenWeights(t, g, c.model), opt)
			if err != nil {
				t.Fatal(err)
			}
			want, err := tensor.ReadNPYFile(filepath.Join(goldenDir(), fmt.Sprintf("%s_%d_b%d.npy", c.model, c.size, c.batch)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Forward(arch.SyntheticInput(c.batch, c.size, c.size, 0))
			if err != nil {
				t.Fatal(err)
			}
			if !tensor.SameShape(got.Shape, want.Shape) {
				t.Fatalf("logits shape %v, PyTorch %v", got.Shape, want.Shape)
			}
			if d := maxRelDiff(got.Data, want.Data); d > 1e-4 {
				t.Errorf("max |diff| / max |logit| = %.3g > 1e-4", d)
			} else {
				t.Logf("max |diff| / max |logit| = %.3g", d)
			}
		})
	}
}
