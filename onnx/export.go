package onnx

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"github.com/dla-go/dla/internal/atomicfile"
	"github.com/dla-go/dla/nn"
)

// Opsets this package exports; DefaultOpset is the newest.
const (
	MinOpset     = 13
	DefaultOpset = 17
	MaxOpset     = 17
)

// ProducerName is the producer_name of every exported model.
const ProducerName = "dla-go"

// maxBatch bounds a fixed batch size to something a runtime can plan for.
const maxBatch = 1 << 16

// Metadata keys written by Export (preprocessing keys come from Options).
const (
	MetaArchitecture = "architecture"
	MetaNumClasses   = "num_classes"
	MetaInputSize    = "input_size" // "C,H,W"
	MetaLabels       = "labels"     // JSON array of class names
)

// Options control Export. The zero value exports opset 17 with a symbolic
// batch size, BatchNorm folded into the convolutions and logits as output.
type Options struct {
	Opset   int  // 13..17; 0 means DefaultOpset
	Softmax bool // end with Softmax(axis=1): output "probabilities" instead of "logits"
	Batch   int  // fixed batch size; 0 means the symbolic dimension "batch"
	// KeepBN exports BatchNormalization nodes instead of folding each one
	// into the convolution before it (the folded graph has fewer nodes).
	KeepBN bool
	// Labels name the classes (index = class id), stored as a JSON array.
	Labels []string
	// Preprocess is stored as metadata as is, e.g. mean, std, resize, crop, mode.
	Preprocess map[string]string
	// ModelName is the architecture ("dla34"), stored as metadata and the graph name.
	ModelName string
}

// irVersion is the IR version each opset was released with: the oldest a
// runtime must understand to load the model (ONNX 1.8/1.9: IR 7, opsets
// 13/14; ONNX 1.10 to 1.12: IR 8, opsets 15 to 17).
func irVersion(opset int) int64 {
	if opset <= 14 {
		return 7
	}
	return 8
}

// Export encodes g with weights w as a serialized ONNX ModelProto whose
// input "input" is float [N,C,H,W] (H and W as g was built) and whose output
// is "logits" (or "probabilities") [N,classes].
func Export(g *nn.Graph, w nn.Weights, opt Options) ([]byte, error) {
	m, err := Build(g, w, opt)
	if err != nil {
		return nil, err
	}
	return m.Marshal()
}

// WriteFile exports to path atomically: a temporary file in the same
// directory is written, synced and renamed over path.
func WriteFile(path string, g *nn.Graph, w nn.Weights, opt Options) error {
	b, err := Export(g, w, opt)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// Build converts g and w to the Model Export serializes. Unfolded
// initializers share their data with w.
func Build(g *nn.Graph, w nn.Weights, opt Options) (*Model, error) {
	if err := opt.check(g); err != nil {
		return nil, err
	}
	if err := g.CheckWeights(w); err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	opset := opt.Opset
	if opset == 0 {
		opset = DefaultOpset
	}
	classes := g.Shape(g.Output)[0]
	m := &Model{
		IRVersion:       irVersion(opset),
		Opsets:          []Opset{{Version: int64(opset)}},
		ProducerName:    ProducerName,
		ProducerVersion: producerVersion(),
		DocString:       fmt.Sprintf("%s image classifier, %d classes, exported by %s", opt.name(), classes, ProducerName),
		Metadata:        opt.metadata(g, classes),
	}
	batch := Dim{Param: "batch"}
	if opt.Batch > 0 {
		batch = Dim{Value: int64(opt.Batch)}
	}
	x := &exporter{g: g, w: w, batch: batch, fold: !opt.KeepBN, gr: &m.Graph}
	x.gr.Name = opt.name()
	x.gr.Inputs = []ValueInfo{x.info("input", g.InC, g.InH, g.InW)}
	x.convert()
	out := "logits"
	x.gr.Nodes = append(x.gr.Nodes, Node{Name: "flatten", OpType: "Flatten",
		Inputs: []string{x.names[g.Output]}, Outputs: []string{out}, Attrs: []Attribute{intAttr("axis", 1)}})
	if opt.Softmax {
		x.gr.ValueInfo = append(x.gr.ValueInfo, x.info(out, classes))
		out = "probabilities"
		x.gr.Nodes = append(x.gr.Nodes, Node{Name: "softmax", OpType: "Softmax",
			Inputs: []string{"logits"}, Outputs: []string{out}, Attrs: []Attribute{intAttr("axis", 1)}})
	}
	x.gr.Outputs = []ValueInfo{x.info(out, classes)}
	return m, nil
}

func (o Options) name() string {
	if o.ModelName != "" {
		return o.ModelName
	}
	return "dla"
}

func (o Options) check(g *nn.Graph) error {
	if g == nil || len(g.Nodes) == 0 {
		return fmt.Errorf("onnx: empty graph")
	}
	if o.Opset != 0 && (o.Opset < MinOpset || o.Opset > MaxOpset) {
		return fmt.Errorf("onnx: opset %d is not supported (%d to %d)", o.Opset, MinOpset, MaxOpset)
	}
	if o.Batch < 0 || o.Batch > maxBatch {
		return fmt.Errorf("onnx: batch size %d out of range (0 for a dynamic batch, or 1 to %d)", o.Batch, maxBatch)
	}
	if g.Output < 1 || g.Output > len(g.Nodes) {
		return fmt.Errorf("onnx: graph output %d is not a node's value", g.Output)
	}
	if s := g.Shape(g.Output); s[1] != 1 || s[2] != 1 {
		return fmt.Errorf("onnx: graph output has shape %v, want [classes 1 1]", s)
	}
	if o.Labels != nil && len(o.Labels) != g.Shape(g.Output)[0] {
		return fmt.Errorf("onnx: %d labels for %d classes", len(o.Labels), g.Shape(g.Output)[0])
	}
	for k := range o.Preprocess {
		switch k {
		case "", MetaArchitecture, MetaNumClasses, MetaInputSize, MetaLabels:
			return fmt.Errorf("onnx: preprocessing key %q is empty or reserved", k)
		}
	}
	return nil
}

func (o Options) metadata(g *nn.Graph, classes int) []Entry {
	meta := []Entry{
		{MetaArchitecture, o.name()},
		{MetaNumClasses, strconv.Itoa(classes)},
		{MetaInputSize, fmt.Sprintf("%d,%d,%d", g.InC, g.InH, g.InW)},
	}
	if o.Labels != nil {
		b, _ := json.Marshal(o.Labels) // a []string always marshals
		meta = append(meta, Entry{MetaLabels, string(b)})
	}
	keys := make([]string, 0, len(o.Preprocess))
	for k := range o.Preprocess {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		meta = append(meta, Entry{k, o.Preprocess[k]})
	}
	return meta
}

// producerVersion is the module version the binary was built from, or
// "(devel)" for a build from a work tree.
func producerVersion() string {
	const module = "github.com/dla-go/dla"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path == module && bi.Main.Version != "" {
			return bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == module {
				return d.Version
			}
		}
	}
	return "(devel)"
}

// exporter turns nn nodes into ONNX nodes; names[v] is the ONNX name of nn
// value v (a folded BatchNorm's value is named like its convolution's).
type exporter struct {
	g     *nn.Graph
	w     nn.Weights
	batch Dim
	fold  bool
	gr    *Graph
	names []string
}

func (x *exporter) convert() {
	g := x.g
	users := make([][]int, len(g.Nodes)+1)
	for j, nd := range g.Nodes {
		for _, v := range nd.Inputs {
			users[v] = append(users[v], j)
		}
	}
	x.names = make([]string, len(g.Nodes)+1)
	x.names[0] = "input"
	folded := make([]bool, len(g.Nodes))
	for i, nd := range g.Nodes {
		if folded[i] {
			continue
		}
		v := i + 1
		name := nd.Name
		if name == "" {
			name = fmt.Sprintf("%s_%d", strings.ToLower(nd.Op.String()), i)
		}
		x.names[v] = name
		node := Node{Name: name, OpType: nd.Op.String(), Outputs: []string{name}}
		for _, in := range nd.Inputs {
			node.Inputs = append(node.Inputs, x.names[in])
		}
		switch nd.Op {
		case nn.OpConv:
			// Fold a BatchNorm that is the convolution's only reader.
			var bn *nn.Node
			if u := users[v]; x.fold && len(u) == 1 && v != g.Output && g.Nodes[u[0]].Op == nn.OpBatchNorm {
				bn = &g.Nodes[u[0]]
				folded[u[0]] = true
				x.names[u[0]+1] = name
			}
			node.Inputs = append(node.Inputs, x.convParams(nd, bn)...)
			node.Attrs = []Attribute{
				intsAttr("kernel_shape", nd.Kernel, nd.Kernel),
				intsAttr("strides", nd.Stride, nd.Stride),
				intsAttr("pads", nd.Pad, nd.Pad, nd.Pad, nd.Pad),
				intsAttr("dilations", 1, 1),
				intAttr("group", nd.Groups),
			}
		case nn.OpBatchNorm:
			// ONNX order: X, scale, B, input_mean, input_var.
			for _, p := range []string{".weight", ".bias", ".running_mean", ".running_var"} {
				t := x.w[nd.Name+p]
				node.Inputs = append(node.Inputs, x.initializer(nd.Name+p, t.Shape, t.Data))
			}
			node.Attrs = []Attribute{{Name: "epsilon", Type: AttrFloat, F: nn.BNEps}}
		case nn.OpMaxPool:
			node.Attrs = []Attribute{
				intsAttr("kernel_shape", nd.Kernel, nd.Kernel),
				intsAttr("strides", nd.Stride, nd.Stride),
			}
		case nn.OpConcat:
			node.Attrs = []Attribute{intAttr("axis", 1)}
		}
		x.gr.Nodes = append(x.gr.Nodes, node)
		s := g.Shape(v)
		x.gr.ValueInfo = append(x.gr.ValueInfo, x.info(name, s[:]...))
	}
}

// convParams adds the convolution's weight and bias initializers, with bn
// folded in when it is not nil, and returns their names.
func (x *exporter) convParams(nd nn.Node, bn *nn.Node) []string {
	wt := x.w[nd.Name+".weight"]
	data := wt.Data
	var bias []float32
	if nd.Bias {
		bias = x.w[nd.Name+".bias"].Data
	}
	if bn != nil {
		p := bn.Name
		data, bias = foldBN(data, bias, x.w[p+".weight"].Data, x.w[p+".bias"].Data,
			x.w[p+".running_mean"].Data, x.w[p+".running_var"].Data)
	}
	names := []string{x.initializer(nd.Name+".weight", wt.Shape, data)}
	if bias != nil {
		names = append(names, x.initializer(nd.Name+".bias", []int{len(bias)}, bias))
	}
	return names
}

// foldBN returns the weight and bias of conv followed by BatchNorm, computed
// as the engine does: s = gamma/sqrt(var+eps) in float64, w' = w*s per output
// channel, b' = (b-mean)*s + beta with b = 0 for a convolution without bias.
func foldBN(w, b, gamma, beta, mean, vr []float32) (wf, bf []float32) {
	outC := len(gamma)
	k := len(w) / outC
	wf = make([]float32, len(w))
	bf = make([]float32, outC)
	for c := range outC {
		s := float64(gamma[c]) / math.Sqrt(float64(vr[c])+nn.BNEps)
		b0 := 0.0
		if b != nil {
			b0 = float64(b[c])
		}
		bf[c] = float32((b0-float64(mean[c]))*s + float64(beta[c]))
		for t := c * k; t < (c+1)*k; t++ {
			wf[t] = float32(float64(w[t]) * s)
		}
	}
	return wf, bf
}

func (x *exporter) initializer(name string, shape []int, data []float32) string {
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	x.gr.Initializers = append(x.gr.Initializers, Tensor{Name: name, Dims: dims, Data: data})
	return name
}

// info describes a float tensor of shape [batch, dims...].
func (x *exporter) info(name string, dims ...int) ValueInfo {
	v := ValueInfo{Name: name, ElemType: Float, Dims: []Dim{x.batch}}
	for _, d := range dims {
		v.Dims = append(v.Dims, Dim{Value: int64(d)})
	}
	return v
}

func intAttr(name string, v int) Attribute {
	return Attribute{Name: name, Type: AttrInt, I: int64(v)}
}

func intsAttr(name string, vs ...int) Attribute {
	a := Attribute{Name: name, Type: AttrInts}
	for _, v := range vs {
		a.Ints = append(a.Ints, int64(v))
	}
	return a
}
