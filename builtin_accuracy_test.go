package dla

import (
	"context"
	"os"
	"testing"

	"github.com/dla-go/dla/data"
)

// fashionMNISTTest is Debian's dataset-fashion-mnist test set, which the
// built-in model never saw in training.
const fashionMNISTTest = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

// The shipped weights classify the Fashion-MNIST test set as the README says.
func TestBuiltinAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("the 10,000 test images take a while")
	}
	if _, err := os.Stat(fashionMNISTTest); err != nil {
		t.Skip("Debian's dataset-fashion-mnist is not installed")
	}
	m, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	src, _, err := data.OpenIDX(fashionMNISTTest, "")
	if err != nil {
		t.Fatal(err)
	}
	loader := data.Loader{Source: src, BatchSize: 250, Options: m.Preprocessing()}
	correct := 0
	stats, err := loader.Run(context.Background(), func(b *data.Batch) error {
		if len(b.Errors) > 0 {
			t.Errorf("batch %d: %v", b.Number, b.Errors[0])
		}
		logits, err := m.Forward(context.Background(), b.X)
		if err != nil {
			return err
		}
		classes := logits.Shape[1]
		for i, label := range b.Labels {
			if m.TopK(logits.Data[i*classes:(i+1)*classes], 1)[0].Class == label {
				correct++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Loaded != 10000 {
		t.Fatalf("loaded %d of the 10000 test images", stats.Loaded)
	}
	top1 := float64(correct) / float64(stats.Loaded)
	t.Logf("built-in model: top-1 %.2f%% on the Fashion-MNIST test set", 100*top1)
	if top1 < 0.93 {
		t.Errorf("top-1 %.2f%%, want at least 93%%", 100*top1)
	}
}
