package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dla-go/dla/internal/kernel/conv"
	"github.com/dla-go/dla/internal/kernel/kerneltest"
	"github.com/dla-go/dla/internal/kernel/ops"
	"github.com/dla-go/dla/tensor"
)

// tinyGraph uses every operator DLA trains with: convolutions (strided,
// grouped, with a bias), BatchNorm, ReLU, add, max pool, concat and global
// average pooling.
func tinyGraph(t *testing.T) *Graph {
	b := NewBuilder(3, 8, 8)
	x := b.ReLU(b.BatchNorm("bn1", b.Conv("conv1", 0, 8, 3, 1, 1, 1)))
	y := b.BatchNorm("bn2", b.Conv("conv2", x, 8, 3, 2, 1, 4))
	p := b.MaxPool(x, 2)
	s := b.ReLU(b.Add(y, p))
	c := b.Concat(s, p)
	r := b.ReLU(b.BatchNorm("bn3", b.Conv("conv3", c, 8, 1, 1, 0, 1)))
	g, err := b.Finish(b.ConvBias("fc", b.GlobalAvgPool(r), 5, 1))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func randomWeights(g *Graph, r *rand.Rand) Weights {
	w := Weights{}
	for _, p := range g.Params() {
		tt := tensor.New(p.Shape...)
		for i := range tt.Data {
			switch {
			case p.Stat && len(p.Name) > 3 && p.Name[len(p.Name)-3:] == "var":
				tt.Data[i] = 1
			case p.Stat:
			default:
				tt.Data[i] = float32(r.NormFloat64() * 0.5)
			}
		}
		w[p.Name] = tt
	}
	return w
}

// The trainer's gradients are the derivative of the loss: along a random
// direction in each parameter tensor, central differences of the float32
// loss agree with the gradient's projection. ReLU kinks and float32 rounding
// limit the agreement to about 1%; the PyTorch parity tests in train/ hold
// whole models to float32 accuracy.
func TestTrainerGradientsFiniteDifferences(t *testing.T) {
	g := tinyGraph(t)
	r := rand.New(rand.NewPCG(1, 2))
	w := randomWeights(g, r)
	x := tensor.New(3, 3, 8, 8)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	labels := []int{1, 4, 2}
	loss := func(w Weights, dlogits []float32) float64 {
		tr, err := NewTrainer(g, w, 3)
		if err != nil {
			t.Fatal(err)
		}
		logits, err := tr.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		l, err := ops.SoftmaxCrossEntropy(3, 5, logits, labels, 0.1, dlogits)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	tr, err := NewTrainer(g, w, 3)
	if err != nil {
		t.Fatal(err)
	}
	logits, _ := tr.Forward(x)
	d := make([]float32, len(logits))
	if _, err := ops.SoftmaxCrossEntropy(3, 5, logits, labels, 0.1, d); err != nil {
		t.Fatal(err)
	}
	tr.Backward(d)
	// One random direction per parameter tensor, so that an error in one
	// small tensor (a BN shift) is not drowned by the others.
	for _, p := range tr.Params() {
		dir := make([]float32, len(p.Data))
		var proj float64
		for i := range dir {
			dir[i] = float32(r.NormFloat64())
			proj += float64(dir[i]) * float64(p.Grad[i])
		}
		const h = 1e-3
		shifted := func(sign float64) Weights {
			out := Weights{}
			for name, tt := range w {
				out[name] = tt
			}
			c := &tensor.Tensor{Shape: w[p.Name].Shape, Data: append([]float32(nil), w[p.Name].Data...)}
			for i := range c.Data {
				c.Data[i] += float32(sign * h * float64(dir[i]))
			}
			out[p.Name] = c
			return out
		}
		num := (loss(shifted(1), nil) - loss(shifted(-1), nil)) / (2 * h)
		if math.Abs(num-proj) > 2e-2*math.Max(0.02, math.Abs(proj)) {
			t.Errorf("%s: gradient projection %.6g, central difference %.6g", p.Name, proj, num)
		}
	}
}

// Batches shorter than the trainer's size use a prefix of its buffers and
// give the same gradients as a trainer made for them.
func TestTrainerShortBatch(t *testing.T) {
	g := tinyGraph(t)
	r := rand.New(rand.NewPCG(3, 4))
	w := randomWeights(g, r)
	x := tensor.New(2, 3, 8, 8)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	grads := func(maxBatch int) []*Param {
		tr, err := NewTrainer(g, w, maxBatch)
		if err != nil {
			t.Fatal(err)
		}
		logits, err := tr.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		d := make([]float32, len(logits))
		if _, err := ops.SoftmaxCrossEntropy(2, 5, logits, []int{0, 3}, 0, d); err != nil {
			t.Fatal(err)
		}
		tr.Backward(d)
		return tr.Params()
	}
	a, b := grads(2), grads(5)
	for i := range a {
		for j := range a[i].Grad {
			if a[i].Grad[j] != b[i].Grad[j] {
				t.Fatalf("%s[%d]: %g with a trainer of 2, %g with one of 5", a[i].Name, j, a[i].Grad[j], b[i].Grad[j])
			}
		}
	}
	tr, _ := NewTrainer(g, w, 1)
	if _, err := tr.Forward(x); err == nil {
		t.Error("a batch of 2 ran on a trainer of 1")
	}
}

// The Winograd plans of training compute the convolution and its data
// gradient as the reference loops do, to Winograd's rounding.
func TestWinoConvMatchesReference(t *testing.T) {
	p := conv.Params{N: 3, C: 64, H: 28, W: 30, K: 128, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 1}
	r := rand.New(rand.NewPCG(5, 6))
	randn := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	w, x, dy := randn(p.K*p.C*9), randn(p.N*p.C*p.H*p.W), randn(p.N*p.K*p.H*p.W)
	wc := newWinoConv(p, randn(len(w))) // made with other weights, as in training
	if wc == nil {
		t.Fatal("no Winograd plan for a 64->128 3x3 convolution at 28x30")
	}
	ws := make([]float32, max(wc.fwd.WorkspaceSize(wc.chunk), wc.bwd.WorkspaceSize(wc.chunk)))
	y, want := make([]float32, len(dy)), make([]float32, len(dy))
	wc.forward(p.N, x, w, y, nil, ws)
	conv.ForwardRef(p, x, w, want, nil)
	kerneltest.CheckNMSE(t, "winograd forward", y, want, 1e-9)
	dx, wantDx := make([]float32, len(x)), make([]float32, len(x))
	wc.backwardData(p.N, dy, w, dx, ws)
	conv.BackwardDataRef(p, dy, w, wantDx)
	kerneltest.CheckNMSE(t, "winograd data gradient", dx, wantDx, 1e-9)
	if newWinoConv(conv.Params{N: 1, C: 64, H: 7, W: 7, K: 64, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 1}, w[:64*64*9]) != nil {
		t.Error("Winograd chosen at 7x7")
	}
}
