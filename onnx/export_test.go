package onnx

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/nn"
	"github.com/dla-go/dla/tensor"
)

// model builds a variant with synthetic weights.
func model(t testing.TB, name string, classes, h, w int) (*nn.Graph, nn.Weights) {
	t.Helper()
	v, err := arch.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	g, err := v.Build(classes, h, w)
	if err != nil {
		t.Fatal(err)
	}
	return g, arch.SyntheticWeights(g, 7)
}

func exportRead(t *testing.T, g *nn.Graph, w nn.Weights, opt Options) *Model {
	t.Helper()
	b, err := Export(g, w, opt)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Read(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func dims64(shape []int) []int64 {
	out := make([]int64, len(shape))
	for i, d := range shape {
		out[i] = int64(d)
	}
	return out
}

func attr(t *testing.T, n Node, name string) Attribute {
	t.Helper()
	for _, a := range n.Attrs {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("node %s (%s) has no attribute %s", n.Name, n.OpType, name)
	return Attribute{}
}

func TestRoundTripUnfolded(t *testing.T) {
	g, w := model(t, "dla46x_c", 10, 64, 96)
	labels := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j\nk"}[:10]
	m := exportRead(t, g, w, Options{KeepBN: true, Labels: labels, ModelName: "dla46x_c",
		Preprocess: map[string]string{"mean": "0.485,0.456,0.406", "mode": "paddle"}})

	if m.IRVersion != 8 || len(m.Opsets) != 1 || m.Opsets[0] != (Opset{Version: 17}) {
		t.Errorf("ir %d opsets %v, want ir 8, opset 17", m.IRVersion, m.Opsets)
	}
	if m.ProducerName != "dla-go" || m.ProducerVersion == "" {
		t.Errorf("producer %q %q", m.ProducerName, m.ProducerVersion)
	}
	for key, want := range map[string]string{"architecture": "dla46x_c", "num_classes": "10",
		"input_size": "3,64,96", "mean": "0.485,0.456,0.406", "mode": "paddle"} {
		if got, _ := m.Meta(key); got != want {
			t.Errorf("metadata %s = %q, want %q", key, got, want)
		}
	}
	var gotLabels []string
	js, _ := m.Meta("labels")
	if err := json.Unmarshal([]byte(js), &gotLabels); err != nil || strings.Join(gotLabels, "|") != strings.Join(labels, "|") {
		t.Errorf("labels %q (%v)", js, err)
	}

	gr := m.Graph
	if gr.Name != "dla46x_c" {
		t.Errorf("graph name %q", gr.Name)
	}
	wantIn := []Dim{{Param: "batch"}, {Value: 3}, {Value: 64}, {Value: 96}}
	if len(gr.Inputs) != 1 || gr.Inputs[0].Name != "input" || gr.Inputs[0].ElemType != Float || !slices.Equal(gr.Inputs[0].Dims, wantIn) {
		t.Errorf("inputs %+v", gr.Inputs)
	}
	wantOut := []Dim{{Param: "batch"}, {Value: 10}}
	if len(gr.Outputs) != 1 || gr.Outputs[0].Name != "logits" || !slices.Equal(gr.Outputs[0].Dims, wantOut) {
		t.Errorf("outputs %+v", gr.Outputs)
	}

	// One ONNX node per nn node, in order, plus the final Flatten.
	if len(gr.Nodes) != len(g.Nodes)+1 {
		t.Fatalf("%d nodes, want %d", len(gr.Nodes), len(g.Nodes)+1)
	}
	produced := map[string]bool{"input": true}
	for _, in := range gr.Initializers {
		produced[in.Name] = true
	}
	for i, n := range gr.Nodes {
		for _, in := range n.Inputs {
			if !produced[in] {
				t.Fatalf("node %s reads %s before it is produced", n.Name, in)
			}
		}
		for _, out := range n.Outputs {
			if produced[out] {
				t.Fatalf("value %s produced twice", out)
			}
			produced[out] = true
		}
		if i == len(g.Nodes) {
			if n.OpType != "Flatten" || attr(t, n, "axis").I != 1 || n.Outputs[0] != "logits" {
				t.Errorf("last node %+v", n)
			}
			continue
		}
		nd := g.Nodes[i]
		if n.OpType != nd.Op.String() {
			t.Fatalf("node %d is %s, want %s", i, n.OpType, nd.Op)
		}
		switch nd.Op {
		case nn.OpConv:
			wantIns := 2
			if nd.Bias {
				wantIns = 3
			}
			k, s, p := int64(nd.Kernel), int64(nd.Stride), int64(nd.Pad)
			if len(n.Inputs) != wantIns || n.Inputs[1] != nd.Name+".weight" ||
				!slices.Equal(attr(t, n, "kernel_shape").Ints, []int64{k, k}) ||
				!slices.Equal(attr(t, n, "strides").Ints, []int64{s, s}) ||
				!slices.Equal(attr(t, n, "pads").Ints, []int64{p, p, p, p}) ||
				!slices.Equal(attr(t, n, "dilations").Ints, []int64{1, 1}) ||
				attr(t, n, "group").I != int64(nd.Groups) || attr(t, n, "group").Type != AttrInt {
				t.Errorf("conv %s: %+v", nd.Name, n)
			}
		case nn.OpBatchNorm:
			want := []string{n.Inputs[0], nd.Name + ".weight", nd.Name + ".bias", nd.Name + ".running_mean", nd.Name + ".running_var"}
			if strings.Join(n.Inputs, " ") != strings.Join(want, " ") || attr(t, n, "epsilon").F != 1e-5 || attr(t, n, "epsilon").Type != AttrFloat {
				t.Errorf("batch norm %s: %+v", nd.Name, n)
			}
		case nn.OpMaxPool:
			k := int64(nd.Kernel)
			if !slices.Equal(attr(t, n, "kernel_shape").Ints, []int64{k, k}) || !slices.Equal(attr(t, n, "strides").Ints, []int64{k, k}) {
				t.Errorf("max pool %d: %+v", i, n)
			}
		case nn.OpConcat:
			if attr(t, n, "axis").I != 1 || len(n.Inputs) != len(nd.Inputs) {
				t.Errorf("concat %d: %+v", i, n)
			}
		}
	}

	// Every parameter, once, bit for bit.
	params := g.Params()
	if len(gr.Initializers) != len(params) {
		t.Fatalf("%d initializers, want %d", len(gr.Initializers), len(params))
	}
	for i, p := range params {
		in := gr.Initializers[i]
		if in.Name != p.Name || !slices.Equal(in.Dims, dims64(p.Shape)) || !sameBits(in.Data, w[p.Name].Data) {
			t.Errorf("initializer %d: %s %v differs from %s %v", i, in.Name, in.Dims, p.Name, p.Shape)
		}
	}
}

// TestRoundTripFolded checks the folded weights against the folding formula
// written out again: s = gamma/sqrt(var+eps) in float64, w*s, (b-mean)*s+beta.
func TestRoundTripFolded(t *testing.T) {
	g, w := model(t, "dla34", 5, 64, 64)
	m := exportRead(t, g, w, Options{})
	bns := 0
	for _, nd := range g.Nodes {
		if nd.Op == nn.OpBatchNorm {
			bns++
		}
	}
	if len(m.Graph.Nodes) != len(g.Nodes)-bns+1 {
		t.Fatalf("%d nodes, want %d (%d folded BatchNorms)", len(m.Graph.Nodes), len(g.Nodes)-bns+1, bns)
	}
	inits := map[string]Tensor{}
	for _, in := range m.Graph.Initializers {
		inits[in.Name] = in
	}
	convs := 0
	for i, nd := range g.Nodes {
		if nd.Op != nn.OpConv {
			continue
		}
		convs++
		wt, bias := inits[nd.Name+".weight"], inits[nd.Name+".bias"]
		if !slices.Equal(wt.Dims, dims64(w[nd.Name+".weight"].Shape)) || len(bias.Dims) != 1 || bias.Dims[0] != int64(nd.OutC) {
			t.Fatalf("%s: dims %v and %v", nd.Name, wt.Dims, bias.Dims)
		}
		if nd.Name == "fc" {
			if !sameBits(wt.Data, w["fc.weight"].Data) || !sameBits(bias.Data, w["fc.bias"].Data) {
				t.Errorf("fc changed")
			}
			continue
		}
		bn := g.Nodes[i+1]
		if bn.Op != nn.OpBatchNorm {
			t.Fatalf("%s is not followed by a BatchNorm", nd.Name)
		}
		gamma, beta := w[bn.Name+".weight"].Data, w[bn.Name+".bias"].Data
		mean, vr := w[bn.Name+".running_mean"].Data, w[bn.Name+".running_var"].Data
		src := w[nd.Name+".weight"].Data
		k := len(src) / nd.OutC
		wantW := make([]float32, len(src))
		wantB := make([]float32, nd.OutC)
		for c := range nd.OutC {
			s := float64(gamma[c]) / math.Sqrt(float64(vr[c])+1e-5)
			wantB[c] = float32(-float64(mean[c])*s + float64(beta[c]))
			for j := range k {
				wantW[c*k+j] = float32(float64(src[c*k+j]) * s)
			}
		}
		if !sameBits(wt.Data, wantW) || !sameBits(bias.Data, wantB) {
			t.Errorf("%s: folded weights differ from the formula", nd.Name)
		}
	}
	if len(inits) != 2*convs {
		t.Errorf("%d initializers for %d convolutions", len(inits), convs)
	}
	for _, n := range m.Graph.Nodes {
		if n.OpType == "BatchNormalization" {
			t.Fatalf("BatchNormalization %s left in a folded export", n.Name)
		}
	}
}

func TestFixedBatchSoftmaxOpset13(t *testing.T) {
	g, w := model(t, "dla46_c", 4, 32, 32)
	m := exportRead(t, g, w, Options{Opset: 13, Batch: 3, Softmax: true})
	if m.IRVersion != 7 || m.Opsets[0].Version != 13 {
		t.Errorf("ir %d opset %d, want 7 and 13", m.IRVersion, m.Opsets[0].Version)
	}
	in, out := m.Graph.Inputs[0], m.Graph.Outputs[0]
	if !slices.Equal(in.Dims, []Dim{{Value: 3}, {Value: 3}, {Value: 32}, {Value: 32}}) {
		t.Errorf("input dims %+v", in.Dims)
	}
	if out.Name != "probabilities" || !slices.Equal(out.Dims, []Dim{{Value: 3}, {Value: 4}}) {
		t.Errorf("output %+v", out)
	}
	last := m.Graph.Nodes[len(m.Graph.Nodes)-1]
	if last.OpType != "Softmax" || last.Inputs[0] != "logits" || attr(t, last, "axis").I != 1 {
		t.Errorf("last node %+v", last)
	}
	for _, v := range m.Graph.ValueInfo {
		if v.Dims[0] != (Dim{Value: 3}) {
			t.Fatalf("value %s has batch dim %+v", v.Name, v.Dims[0])
		}
	}
}

func TestExportRejects(t *testing.T) {
	g, w := model(t, "dla46_c", 3, 32, 32)
	for _, c := range []struct {
		name string
		opt  Options
		want string
	}{
		{"opset 12", Options{Opset: 12}, "opset 12"},
		{"opset 18", Options{Opset: 18}, "opset 18"},
		{"negative batch", Options{Batch: -1}, "batch size -1"},
		{"huge batch", Options{Batch: 1 << 20}, "batch size"},
		{"labels", Options{Labels: []string{"x"}}, "1 labels for 3 classes"},
		{"reserved key", Options{Preprocess: map[string]string{"labels": "x"}}, "reserved"},
		{"empty key", Options{Preprocess: map[string]string{"": "x"}}, "reserved"},
	} {
		if _, err := Export(g, w, c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	missing := nn.Weights{}
	for k, v := range w {
		missing[k] = v
	}
	delete(missing, "level3.tree1.tree1.bn2.running_var")
	if _, err := Export(g, missing, Options{}); err == nil || !strings.Contains(err.Error(), "running_var") {
		t.Errorf("missing weight: %v", err)
	}
	missing["level3.tree1.tree1.bn2.running_var"] = tensor.New(5)
	if _, err := Export(g, missing, Options{}); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Errorf("wrong shape: %v", err)
	}
	if _, err := Export(nil, w, Options{}); err == nil {
		t.Error("nil graph accepted")
	}
	bad := *g
	bad.Output = 3 // a [16,32,32] activation, not logits
	if _, err := Export(&bad, w, Options{}); err == nil || !strings.Contains(err.Error(), "classes 1 1") {
		t.Errorf("non-classifier output: %v", err)
	}
}

func TestSizeLimit(t *testing.T) {
	g, w := model(t, "dla46_c", 3, 32, 32)
	m, err := Build(g, w, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.marshal(len(b)); err != nil {
		t.Errorf("exactly at the limit: %v", err)
	}
	if _, err := m.marshal(len(b) - 1); err == nil || !strings.Contains(err.Error(), "2 GB") {
		t.Errorf("over the limit: %v", err)
	}
}

func TestWriteFile(t *testing.T) {
	g, w := model(t, "dla46_c", 3, 32, 32)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, g, w, Options{}); err != nil {
		t.Fatal(err)
	}
	want, _ := Export(g, w, Options{})
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("file differs from Export (%v)", err)
	}
	if m, err := ReadFile(path); err != nil || len(m.Graph.Nodes) == 0 {
		t.Fatalf("ReadFile: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if err := WriteFile(filepath.Join(dir, "no", "such", "m.onnx"), g, w, Options{}); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
	if err := WriteFile(path, g, w, Options{Opset: 1}); err == nil {
		t.Error("bad options written")
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		t.Error("a failed export changed the existing file")
	}
}

// TestReadMalformed cuts and corrupts a small model: Read must return an
// error or a model, never panic.
func TestReadMalformed(t *testing.T) {
	g, w := model(t, "dla46_c", 3, 32, 32)
	m, err := Build(g, w, Options{KeepBN: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// The graph is the last field: every cut inside it must fail.
	head := *m
	head.Graph = Graph{}
	hb, err := head.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	graphStart := len(hb) - 2 // an empty graph field is a tag and a zero length
	for cut := graphStart + 1; cut < len(b); cut += 1 + cut/8 {
		if _, err := Read(b[:cut]); err == nil {
			t.Fatalf("a model cut at %d of %d bytes was accepted", cut, len(b))
		}
	}
	for cut := range graphStart {
		Read(b[:cut])
	}
	c := append([]byte(nil), b...)
	for i := 0; i < len(c); i += 97 {
		c[i] ^= 0x5a
		Read(c)
	}
	if _, err := Read([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}); err == nil {
		t.Error("a field longer than the input was accepted")
	}
}

func FuzzRead(f *testing.F) {
	g, w := model(f, "dla46_c", 2, 32, 32)
	m, err := Build(g, w, Options{KeepBN: true})
	if err != nil {
		f.Fatal(err)
	}
	// A seed small enough for the fuzzer: the first nodes and tensors.
	m.Graph.Nodes = m.Graph.Nodes[:4]
	m.Graph.Initializers = m.Graph.Initializers[:3]
	m.Graph.ValueInfo = m.Graph.ValueInfo[:4]
	m.Graph.Initializers[0].Data = m.Graph.Initializers[0].Data[:8]
	m.Graph.Initializers[0].Dims = []int64{2, 4}
	seed, err := m.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Read(b)
		if err != nil {
			return
		}
		// What parses must survive a re-encode and parse unchanged.
		b2, err := m.Marshal()
		if err != nil {
			return
		}
		m2, err := Read(b2)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if len(m2.Graph.Nodes) != len(m.Graph.Nodes) || len(m2.Graph.Initializers) != len(m.Graph.Initializers) {
			t.Fatal("re-encoded model differs")
		}
	})
}
