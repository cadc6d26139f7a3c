package onnx

import (
	"fmt"
	"testing"

	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/nn"
	"github.com/dla-go/dla/tensor"
)

// toGraph rebuilds an nn graph from a model this package exported, reading
// only the ONNX file (nodes, attributes, initializers), so that running it
// checks the wiring of the export without an ONNX runtime.
func toGraph(t *testing.T, m *Model) (*nn.Graph, nn.Weights) {
	t.Helper()
	in := m.Graph.Inputs[0].Dims
	b := nn.NewBuilder(int(in[1].Value), int(in[2].Value), int(in[3].Value))
	inits := map[string]Tensor{}
	for _, it := range m.Graph.Initializers {
		inits[it.Name] = it
	}
	ints := func(n Node, name string) []int64 { return attr(t, n, name).Ints }
	vals := map[string]int{"input": 0}
	w := nn.Weights{}
	param := func(node, suffix, name string) {
		it, ok := inits[name]
		if !ok {
			t.Fatalf("node %s: no initializer %s", node, name)
		}
		shape := make([]int, len(it.Dims))
		for i, d := range it.Dims {
			shape[i] = int(d)
		}
		x, err := tensor.FromData(it.Data, shape...)
		if err != nil {
			t.Fatal(err)
		}
		w[node+suffix] = x
	}
	var biased []int
	out := -1
	for _, n := range m.Graph.Nodes {
		x, ok := vals[n.Inputs[0]]
		if !ok {
			t.Fatalf("node %s reads unknown value %s", n.Name, n.Inputs[0])
		}
		var v int
		switch n.OpType {
		case "Conv":
			wt := inits[n.Inputs[1]]
			k, s, p := ints(n, "kernel_shape"), ints(n, "strides"), ints(n, "pads")
			if k[0] != k[1] || s[0] != s[1] || p[0] != p[1] || p[0] != p[2] || p[0] != p[3] {
				t.Fatalf("conv %s: non-square attributes %v %v %v", n.Name, k, s, p)
			}
			v = b.Conv(n.Name, x, int(wt.Dims[0]), int(k[0]), int(s[0]), int(p[0]), int(attr(t, n, "group").I))
			param(n.Name, ".weight", n.Inputs[1])
			if len(n.Inputs) == 3 {
				biased = append(biased, v-1)
				param(n.Name, ".bias", n.Inputs[2])
			}
		case "BatchNormalization":
			v = b.BatchNorm(n.Name, x)
			for i, suffix := range []string{".weight", ".bias", ".running_mean", ".running_var"} {
				param(n.Name, suffix, n.Inputs[i+1])
			}
		case "Relu":
			v = b.ReLU(x)
		case "Add":
			v = b.Add(x, vals[n.Inputs[1]])
		case "MaxPool":
			v = b.MaxPool(x, int(ints(n, "kernel_shape")[0]))
		case "Concat":
			xs := make([]int, len(n.Inputs))
			for i, name := range n.Inputs {
				xs[i] = vals[name]
			}
			v = b.Concat(xs...)
		case "GlobalAveragePool":
			v = b.GlobalAvgPool(x)
		case "Flatten":
			out = x
			continue
		case "Softmax":
			continue
		default:
			t.Fatalf("unexpected op %s", n.OpType)
		}
		vals[n.Outputs[0]] = v
	}
	g, err := b.Finish(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range biased {
		g.Nodes[i].Bias = true
	}
	return g, w
}

// TestExportedGraphRuns runs the graph read back from each export with the
// reference executor: the unfolded one must give the original logits bit for
// bit, the folded one within float32 rounding.
func TestExportedGraphRuns(t *testing.T) {
	for _, name := range []string{"dla34", "dla46x_c", "dla102x"} {
		if testing.Short() && name == "dla102x" {
			continue
		}
		g, w := model(t, name, 7, 32, 64)
		x := arch.SyntheticInput(1, 32, 64, 3)
		want, err := nn.RunReference(g, w, x)
		if err != nil {
			t.Fatal(err)
		}
		for _, keep := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/keepBN=%v", name, keep), func(t *testing.T) {
				g2, w2 := toGraph(t, exportRead(t, g, w, Options{KeepBN: keep}))
				got, err := nn.RunReference(g2, w2, x)
				if err != nil {
					t.Fatal(err)
				}
				d := maxRelDiff(got.Data, want.Data)
				t.Logf("max|diff|/max|y| = %.2g", d)
				if keep && !sameBits(got.Data, want.Data) {
					t.Errorf("unfolded graph differs by %.3g relative", d)
				}
				if d > 1e-5 {
					t.Errorf("folded graph differs by %.3g relative", d)
				}
			})
		}
	}
}
