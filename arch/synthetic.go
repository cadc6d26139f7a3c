package arch

import (
	"math"
	"strings"

	"github.com/dla-go/dla/nn"
	"github.com/dla-go/dla/tensor"
)

// Synthetic weights and inputs come from a counter-based hash of (name,
// element index, seed), so that Go and the PyTorch fixture generator
// (testdata/golden/gen.py) build bit-identical tensors without storing them,
// and `dla bench` needs no weight file.

const golden = 0x9E3779B97F4A7C15

func fnv1a64(s string) uint64 {
	h := uint64(0xcbf29ce484222325)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x100000001b3
	}
	return h
}

// uniformAt is element i of the stream for name and seed, in [0,1):
// splitmix64 of base+(i+1)*golden, top 24 bits.
func uniformAt(base uint64, i int) float64 {
	z := base + uint64(i+1)*golden
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	z ^= z >> 31
	return float64(z>>40) / (1 << 24)
}

func streamBase(name string, seed uint64) uint64 { return fnv1a64(name) ^ (seed * golden) }

// uniform returns the first n values of the stream for name and seed.
func uniform(name string, n int, seed uint64) []float64 {
	base := streamBase(name, seed)
	out := make([]float64, n)
	for i := range out {
		out[i] = uniformAt(base, i)
	}
	return out
}

// SyntheticTensor is the deterministic value of parameter spec for a seed:
// conv weights with variance 1/fan_in, BN gamma in [0.75,1.25), biases and
// running means in [-0.1,0.1), running variances in [0.5,1.5).
func SyntheticTensor(p nn.ParamSpec, seed uint64) *tensor.Tensor {
	t := tensor.New(p.Shape...)
	base := streamBase(p.Name, seed)
	for i := range t.Data {
		v := uniformAt(base, i)
		var x float64
		switch {
		case strings.HasSuffix(p.Name, "running_var"):
			x = 0.5 + v
		case strings.HasSuffix(p.Name, "running_mean"), strings.HasSuffix(p.Name, ".bias"):
			x = (2*v - 1) * 0.1
		case len(p.Shape) == 4:
			x = (2*v - 1) * math.Sqrt(3/float64(p.Shape[1]*p.Shape[2]*p.Shape[3]))
		default:
			x = 0.75 + 0.5*v
		}
		t.Data[i] = float32(x)
	}
	return t
}

// SyntheticWeights returns every tensor g needs, by name.
func SyntheticWeights(g *nn.Graph, seed uint64) map[string]*tensor.Tensor {
	out := map[string]*tensor.Tensor{}
	for _, p := range g.Params() {
		out[p.Name] = SyntheticTensor(p, seed)
	}
	return out
}

// SyntheticInput is a [batch,3,h,w] input: uniform noise plus a per-image,
// per-channel offset and horizontal ramp, so pooled features depend on the image.
func SyntheticInput(batch, h, w int, seed uint64) *tensor.Tensor {
	t := tensor.New(batch, 3, h, w)
	noise := uniform("input", batch*3*h*w, seed)
	off := uniform("input.offset", batch*3, seed)
	ramp := uniform("input.ramp", batch*3, seed)
	for nc := range batch * 3 {
		o, r := 1.5*(2*off[nc]-1), 2*(2*ramp[nc]-1)
		for y := range h {
			for x := range w {
				i := (nc*h+y)*w + x
				t.Data[i] = float32((2*noise[i] - 1) + o + r*(float64(x)/float64(w)))
			}
		}
	}
	return t
}

// SyntheticNoise is a [batch,3,h,w] input of uniform noise in [-1,1). Unlike
// SyntheticInput it has no per-image structure, which would make training
// gradients ill-conditioned: BatchNorm's batch statistics would then be
// dominated by the differences between images, and its backward pass would
// cancel most of the gradient (PyTorch's own float32 gradients then differ
// from float64 by up to 2%, against 1e-4 with noise).
func SyntheticNoise(batch, h, w int, seed uint64) *tensor.Tensor {
	t := tensor.New(batch, 3, h, w)
	for i, u := range uniform("noise", len(t.Data), seed) {
		t.Data[i] = float32(2*u - 1)
	}
	return t
}
