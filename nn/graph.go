// Package nn describes networks as a small graph of standard operators
// (the same vocabulary ONNX uses) and runs them: a compiled inference engine
// and a training executor with explicit backward functions.
package nn

import (
	"fmt"
)

// OpKind is one of the few operators a DLA network is made of.
type OpKind int

const (
	OpConv          OpKind = iota // 2-D convolution; weight (and optional bias) are parameters
	OpBatchNorm                   // per-channel normalisation with running statistics
	OpReLU                        // max(0, x)
	OpAdd                         // element-wise sum of two values
	OpMaxPool                     // Kernel x Kernel window, stride Kernel, floor mode
	OpConcat                      // concatenation along channels
	OpGlobalAvgPool               // mean over H and W -> [C,1,1]
)

var opNames = [...]string{"Conv", "BatchNormalization", "Relu", "Add", "MaxPool", "Concat", "GlobalAveragePool"}

func (k OpKind) String() string { return opNames[k] }

// Node is one operator application. Inputs and the output are value ids:
// value 0 is the graph input, value i+1 is the output of node i.
type Node struct {
	Op     OpKind
	Inputs []int
	Name   string // parameter prefix (module path), e.g. "level2.tree1.conv1"

	// Conv: OutC output channels, Kernel x Kernel window, Stride, Pad, Groups;
	// Bias says the conv has a "<Name>.bias" parameter (only the classifier).
	// MaxPool uses Kernel as window and stride.
	OutC, Kernel, Stride, Pad, Groups int
	Bias                              bool

	// Shape of the output for the graph's input size, [C, H, W] (batch excluded).
	Out [3]int
}

// BNEps is BatchNorm's epsilon in all three reference implementations.
const BNEps = 1e-5

// Graph is a network in topological order. Output is the value holding the
// logits ([classes,1,1] before flattening).
type Graph struct {
	InC, InH, InW int
	Nodes         []Node
	Output        int
}

// Shape returns the [C,H,W] shape of value v.
func (g *Graph) Shape(v int) [3]int {
	if v == 0 {
		return [3]int{g.InC, g.InH, g.InW}
	}
	return g.Nodes[v-1].Out
}

// ParamSpec names one parameter (or BatchNorm statistic) tensor and its shape.
type ParamSpec struct {
	Name  string
	Shape []int
	// Stat marks BatchNorm running statistics: stored in weight files, not trained.
	Stat bool
}

// Params lists every tensor the graph needs, in node order, with timm's names.
func (g *Graph) Params() []ParamSpec {
	var out []ParamSpec
	for _, n := range g.Nodes {
		switch n.Op {
		case OpConv:
			cin := g.Shape(n.Inputs[0])[0]
			out = append(out, ParamSpec{Name: n.Name + ".weight", Shape: []int{n.OutC, cin / n.Groups, n.Kernel, n.Kernel}})
			if n.Bias {
				out = append(out, ParamSpec{Name: n.Name + ".bias", Shape: []int{n.OutC}})
			}
		case OpBatchNorm:
			c := n.Out[0]
			out = append(out,
				ParamSpec{Name: n.Name + ".weight", Shape: []int{c}},
				ParamSpec{Name: n.Name + ".bias", Shape: []int{c}},
				ParamSpec{Name: n.Name + ".running_mean", Shape: []int{c}, Stat: true},
				ParamSpec{Name: n.Name + ".running_var", Shape: []int{c}, Stat: true})
		}
	}
	return out
}

// TrainableCount is the number of trainable scalars (conv, BN affine, fc),
// the figure timm reports as param_count.
func (g *Graph) TrainableCount() int {
	total := 0
	for _, p := range g.Params() {
		if !p.Stat {
			total += numel(p.Shape)
		}
	}
	return total
}

// MACs counts the multiply-accumulates of all convolutions for one image.
func (g *Graph) MACs() int64 {
	var total int64
	for _, n := range g.Nodes {
		if n.Op == OpConv {
			cin := g.Shape(n.Inputs[0])[0]
			total += int64(n.Out[0]*n.Out[1]*n.Out[2]) * int64(cin/n.Groups*n.Kernel*n.Kernel)
		}
	}
	return total
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Builder appends nodes with shape inference; errors (impossible shapes)
// are collected and reported once by Finish.
type Builder struct {
	g   Graph
	err error
}

// NewBuilder starts a graph whose input is [c, h, w].
func NewBuilder(c, h, w int) *Builder {
	return &Builder{g: Graph{InC: c, InH: h, InW: w}}
}

func (b *Builder) add(n Node) int {
	b.g.Nodes = append(b.g.Nodes, n)
	return len(b.g.Nodes)
}

func (b *Builder) fail(format string, args ...any) int {
	if b.err == nil {
		b.err = fmt.Errorf(format, args...)
	}
	return 0
}

// Conv adds a convolution without bias.
func (b *Builder) Conv(name string, x, outC, kernel, stride, pad, groups int) int {
	s := b.g.Shape(x)
	if s[0]%groups != 0 || outC%groups != 0 {
		return b.fail("%s: channels %d -> %d not divisible by %d groups", name, s[0], outC, groups)
	}
	oh := (s[1]+2*pad-kernel)/stride + 1
	ow := (s[2]+2*pad-kernel)/stride + 1
	if oh <= 0 || ow <= 0 {
		return b.fail("%s: input %dx%d too small for a %dx%d kernel", name, s[1], s[2], kernel, kernel)
	}
	return b.add(Node{Op: OpConv, Inputs: []int{x}, Name: name, OutC: outC, Kernel: kernel, Stride: stride,
		Pad: pad, Groups: groups, Out: [3]int{outC, oh, ow}})
}

// ConvBias adds a convolution with a bias parameter (the classifier).
func (b *Builder) ConvBias(name string, x, outC, kernel int) int {
	v := b.Conv(name, x, outC, kernel, 1, 0, 1)
	if v > 0 {
		b.g.Nodes[v-1].Bias = true
	}
	return v
}

// BatchNorm adds a BatchNorm with parameters under name.
func (b *Builder) BatchNorm(name string, x int) int {
	return b.add(Node{Op: OpBatchNorm, Inputs: []int{x}, Name: name, Out: b.g.Shape(x)})
}

// ReLU adds max(0, x).
func (b *Builder) ReLU(x int) int {
	return b.add(Node{Op: OpReLU, Inputs: []int{x}, Out: b.g.Shape(x)})
}

// Add adds x + y; the shapes must agree.
func (b *Builder) Add(x, y int) int {
	if b.g.Shape(x) != b.g.Shape(y) {
		return b.fail("add: shapes %v and %v differ", b.g.Shape(x), b.g.Shape(y))
	}
	return b.add(Node{Op: OpAdd, Inputs: []int{x, y}, Out: b.g.Shape(x)})
}

// MaxPool adds a k x k max pool with stride k (floor mode).
func (b *Builder) MaxPool(x, k int) int {
	s := b.g.Shape(x)
	if s[1] < k || s[2] < k {
		return b.fail("max pool: input %dx%d smaller than %d", s[1], s[2], k)
	}
	return b.add(Node{Op: OpMaxPool, Inputs: []int{x}, Kernel: k, Stride: k, Out: [3]int{s[0], s[1] / k, s[2] / k}})
}

// Concat joins values along channels; their H and W must agree.
func (b *Builder) Concat(xs ...int) int {
	s0 := b.g.Shape(xs[0])
	c := 0
	for _, x := range xs {
		s := b.g.Shape(x)
		if s[1] != s0[1] || s[2] != s0[2] {
			return b.fail("concat: spatial sizes %dx%d and %dx%d differ", s0[1], s0[2], s[1], s[2])
		}
		c += s[0]
	}
	return b.add(Node{Op: OpConcat, Inputs: append([]int(nil), xs...), Out: [3]int{c, s0[1], s0[2]}})
}

// GlobalAvgPool averages each channel to 1x1.
func (b *Builder) GlobalAvgPool(x int) int {
	s := b.g.Shape(x)
	return b.add(Node{Op: OpGlobalAvgPool, Inputs: []int{x}, Out: [3]int{s[0], 1, 1}})
}

// Shape exposes shape inference to graph builders.
func (b *Builder) Shape(x int) [3]int { return b.g.Shape(x) }

// Finish returns the graph with out as its output, or the first error met.
func (b *Builder) Finish(out int) (*Graph, error) {
	if b.err != nil {
		return nil, b.err
	}
	g := b.g
	g.Output = out
	return &g, nil
}
