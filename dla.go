// Package dla classifies images with the ten DLA (Deep Layer Aggregation)
// ImageNet models on the CPU, in pure Go:
//
//	m, err := dla.Load("dla34", dla.WithWeights("dla34.safetensors"))
//	preds, err := m.Classify(ctx, img, 5)
//	logits, err := m.Forward(ctx, batch)
//
// A Model is safe for concurrent use. It compiles its network once per input
// size (multiples of 32) and reuses the compiled engine.
package dla

import (
	"context"
	"fmt"
	"sync"

	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/nn"
	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/vision"
)

// Model is a loaded DLA classifier.
type Model struct {
	variant arch.Variant
	classes int
	weights nn.Weights
	meta    map[string]string
	labels  []string
	prep    vision.Options

	mu      sync.Mutex
	engines map[[2]int]*nn.Engine
}

// Variant describes the architecture of m.
func (m *Model) Variant() arch.Variant { return m.variant }

// Classes is the number of logits per image.
func (m *Model) Classes() int { return m.classes }

// Weights returns the model's parameters by timm name (shared, do not modify).
func (m *Model) Weights() nn.Weights { return m.weights }

// Metadata returns the metadata of the weight file, if it had any.
func (m *Model) Metadata() map[string]string { return m.meta }

// Labels names the classes (nil when neither the caller nor the weight file
// named them; Label then falls back to ImageNet's names or "class <c>").
func (m *Model) Labels() []string { return m.labels }

// Preprocessing is the eval preprocessing the model expects: the one its
// weight file records, else PaddleClas's ImageNet eval pipeline (the zero
// vision.Options). Classify uses it.
func (m *Model) Preprocessing() vision.Options { return m.prep }

// Graph builds the model's operator graph for h x w inputs.
func (m *Model) Graph(h, w int) (*nn.Graph, error) {
	return m.variant.Build(m.classes, h, w)
}

// Engine returns the inference engine for h x w inputs, compiling it on first use.
func (m *Model) Engine(h, w int) (*nn.Engine, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.engines[[2]int{h, w}]; ok {
		return e, nil
	}
	g, err := m.Graph(h, w)
	if err != nil {
		return nil, err
	}
	e, err := nn.Compile(g, m.weights)
	if err != nil {
		return nil, err
	}
	m.engines[[2]int{h, w}] = e
	return e, nil
}

// Forward runs a float32 NCHW batch [N,3,H,W] (H and W multiples of 32) and
// returns the logits [N, classes].
func (m *Model) Forward(ctx context.Context, x *tensor.Tensor) (*tensor.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(x.Shape) != 4 || x.Shape[1] != 3 {
		return nil, fmt.Errorf("input shape %s: want [N 3 H W]", tensor.ShapeString(x.Shape))
	}
	e, err := m.Engine(x.Shape[2], x.Shape[3])
	if err != nil {
		return nil, err
	}
	return e.Forward(x)
}
