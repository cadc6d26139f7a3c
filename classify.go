package dla

import (
	"context"
	"fmt"
	"image"
	"sort"
	"sync"

	"github.com/dla-go/dla/data"
	"github.com/dla-go/dla/internal/kernel/ops"

	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/vision"
)

var imagenetLabels = sync.OnceValue(data.ImageNet1k)

// Prediction is one of the top-k classes of an image.
type Prediction struct {
	Class int     `json:"class"`
	Label string  `json:"label"`
	Score float32 `json:"score"` // softmax probability
}

// Classification is one image's top-k classes: what `dla predict --json`
// prints per image and the server's /v1/classify answers.
type Classification struct {
	Image       string       `json:"image,omitempty"` // its path or upload name
	Predictions []Prediction `json:"predictions"`
}

// Preprocess turns an image into the model's input [1,3,224,224] with the
// PaddleClas eval pipeline (or timm's, with opt.Mode = vision.ModeTimm).
func Preprocess(img image.Image, opt vision.Options) (*tensor.Tensor, error) {
	return vision.Preprocess(img, opt)
}

// Classify preprocesses img the way the model expects (Preprocessing: for
// ImageNet weights, the PaddleClas eval pipeline) and returns its k most
// likely classes.
func (m *Model) Classify(ctx context.Context, img image.Image, k int) ([]Prediction, error) {
	return m.ClassifyWith(ctx, img, k, m.prep)
}

// ClassifyWith is Classify with explicit preprocessing options.
func (m *Model) ClassifyWith(ctx context.Context, img image.Image, k int, opt vision.Options) ([]Prediction, error) {
	x, err := vision.Preprocess(img, opt)
	if err != nil {
		return nil, err
	}
	logits, err := m.Forward(ctx, x)
	if err != nil {
		return nil, err
	}
	return m.TopK(logits.Data, k), nil
}

// Label names class c: from WithLabels, else ImageNet-1k's for 1000 classes,
// else "class <c>".
func (m *Model) Label(c int) string {
	if m.labels != nil {
		return m.labels[c]
	}
	if m.classes == 1000 {
		return imagenetLabels()[c]
	}
	return fmt.Sprintf("class %d", c)
}

// TopK returns the k largest softmax probabilities of one image's logits,
// best first (ties by lower class id, as a stable descending sort gives).
func (m *Model) TopK(logits []float32, k int) []Prediction {
	probs := Softmax(logits)
	idx := make([]int, len(probs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return probs[idx[a]] > probs[idx[b]] })
	k = max(0, min(k, len(idx)))
	out := make([]Prediction, k)
	for i := range out {
		out[i] = Prediction{Class: idx[i], Label: m.Label(idx[i]), Score: probs[idx[i]]}
	}
	return out
}

// Softmax returns the softmax of one image's logits (computed in float64).
func Softmax(x []float32) []float32 {
	out := make([]float32, len(x))
	if len(x) > 0 {
		ops.Softmax(1, len(x), x, out)
	}
	return out
}
