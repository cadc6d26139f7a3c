package nn

import (
	"fmt"

	"github.com/dla-go/dla/internal/kernel/conv"
	"github.com/dla-go/dla/internal/kernel/ops"
	"github.com/dla-go/dla/tensor"
)

// Weights maps timm parameter names to tensors.
type Weights map[string]*tensor.Tensor

// CheckWeights verifies that w holds every parameter of g with the right shape.
func (g *Graph) CheckWeights(w Weights) error {
	for _, p := range g.Params() {
		t, ok := w[p.Name]
		if !ok {
			return fmt.Errorf("missing weight %s", p.Name)
		}
		if !tensor.SameShape(t.Shape, p.Shape) {
			return fmt.Errorf("weight %s has shape %v, the model needs %v", p.Name, t.Shape, p.Shape)
		}
	}
	return nil
}

// CheckInput verifies that x is an [N, C, H, W] batch of the size g was built for.
func (g *Graph) CheckInput(x *tensor.Tensor) error {
	s := x.Shape
	if len(s) != 4 || s[0] < 1 || s[1] != g.InC || s[2] != g.InH || s[3] != g.InW {
		return fmt.Errorf("input shape %v does not fit the model: want [N %d %d %d]", s, g.InC, g.InH, g.InW)
	}
	return nil
}

// RunReference evaluates g on x one operator at a time with the reference
// kernels, in eval mode: it is the definition the compiled engine is tested
// against. The result is [N, classes].
func RunReference(g *Graph, w Weights, x *tensor.Tensor) (*tensor.Tensor, error) {
	if err := g.CheckWeights(w); err != nil {
		return nil, err
	}
	if err := g.CheckInput(x); err != nil {
		return nil, err
	}
	n := x.Shape[0]
	vals := make([][]float32, len(g.Nodes)+1)
	vals[0] = x.Data
	for i, nd := range g.Nodes {
		in := g.Shape(nd.Inputs[0])
		out := make([]float32, n*nd.Out[0]*nd.Out[1]*nd.Out[2])
		src := vals[nd.Inputs[0]]
		plane := nd.Out[1] * nd.Out[2]
		switch nd.Op {
		case OpConv:
			p := conv.Params{N: n, C: in[0], H: in[1], W: in[2], K: nd.OutC, R: nd.Kernel, S: nd.Kernel,
				StrideH: nd.Stride, StrideW: nd.Stride, PadH: nd.Pad, PadW: nd.Pad, Groups: nd.Groups}
			var epi *conv.Epilogue
			if nd.Bias {
				epi = &conv.Epilogue{Shift: w[nd.Name+".bias"].Data}
			}
			conv.ForwardRef(p, src, w[nd.Name+".weight"].Data, out, epi)
		case OpBatchNorm:
			ops.BatchNormInference(n, nd.Out[0], plane, src, w[nd.Name+".weight"].Data, w[nd.Name+".bias"].Data,
				w[nd.Name+".running_mean"].Data, w[nd.Name+".running_var"].Data, BNEps, out)
		case OpReLU:
			ops.ReLU(src, out)
		case OpAdd:
			ops.Add(src, vals[nd.Inputs[1]], out)
		case OpMaxPool:
			ops.MaxPoolRef(n, in[0], in[1], in[2], nd.Kernel, src, out)
		case OpConcat:
			parts := make([][]float32, len(nd.Inputs))
			chans := make([]int, len(nd.Inputs))
			for k, v := range nd.Inputs {
				parts[k], chans[k] = vals[v], g.Shape(v)[0]
			}
			ops.Concat(n, plane, parts, chans, out)
		case OpGlobalAvgPool:
			ops.GlobalAvgPool(n, in[0], in[1]*in[2], src, out)
		}
		vals[i+1] = out
	}
	classes := g.Shape(g.Output)[0]
	return tensor.FromData(vals[g.Output], n, classes)
}
