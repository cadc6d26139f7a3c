package nn_test

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/internal/kernel/conv"
	"github.com/dla-go/dla/internal/kernel/kerneltest"
	"github.com/dla-go/dla/internal/kernel/parallel"
	"github.com/dla-go/dla/nn"
	"github.com/dla-go/dla/tensor"
)

// maxRelDiff is max|a-b| / max|b|, the metric of the golden tests.
func maxRelDiff(a, b []float32) float64 {
	var d, m float64
	for i := range b {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
		m = math.Max(m, math.Abs(float64(b[i])))
	}
	return d / m
}

func compiled(t testing.TB, name string, size int) (*nn.Graph, nn.Weights, *nn.Engine) {
	t.Helper()
	v, err := arch.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	g, err := v.Build(1000, size, size)
	if err != nil {
		t.Fatal(err)
	}
	w := nn.Weights(arch.SyntheticWeights(g, 7))
	e, err := nn.Compile(g, w)
	if err != nil {
		t.Fatal(err)
	}
	return g, w, e
}

// The compiled engine (folded BN, fused epilogues, in-place concatenation,
// packed fast kernels) must agree with the operator-by-operator reference.
func TestEngineMatchesReference(t *testing.T) {
	models := []string{"dla34", "dla46_c", "dla46x_c", "dla60x_c", "dla102x"}
	if testing.Short() {
		models = models[1:3] // dla34's basic blocks meet the golden logits
	}
	for _, name := range models {
		t.Run(name, func(t *testing.T) {
			g, w, _ := compiled(t, name, 64)
			x := arch.SyntheticInput(3, 64, 64, 1)
			want, err := nn.RunReference(g, w, x)
			if err != nil {
				t.Fatal(err)
			}
			checkCompiled(t, name, g, w, nn.Options{}, x, want)
		})
	}
}

// Batches of 1 to 3 images (run side by side on two workers, the last of
// an odd batch alone) from 16 callers at once: every logit as when each
// image runs alone.
func TestEngineConcurrentCallersAgree(t *testing.T) {
	defer parallel.SetWorkers(parallel.SetWorkers(2)) // side by side even on one CPU
	_, _, e := compiled(t, "dla46x_c", 64)
	inputs := make([]*tensor.Tensor, 4)
	wants := make([]*tensor.Tensor, 4)
	for i := range inputs {
		n := 1 + i%3
		inputs[i] = arch.SyntheticInput(n, 64, 64, uint64(i))
		wants[i] = tensor.New(n, e.Classes())
		per := len(inputs[i].Data) / n
		for img := range n {
			x, err := tensor.FromData(inputs[i].Data[img*per:(img+1)*per], 1, 3, 64, 64)
			if err != nil {
				t.Fatal(err)
			}
			y, err := e.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			copy(wants[i].Data[img*e.Classes():], y.Data)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for r := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			i := r % 4
			y, err := e.Forward(inputs[i])
			if err != nil {
				errs <- err
				return
			}
			for j := range y.Data {
				if y.Data[j] != wants[i].Data[j] {
					errs <- fmt.Errorf("caller %d: logit %d differs from the serial run", r, j)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestForwardIntoAllocatesNothing(t *testing.T) {
	_, _, e := compiled(t, "dla46x_c", 64)
	x := arch.SyntheticInput(2, 64, 64, 3)
	out := tensor.New(2, e.Classes())
	// The two images run side by side, each with an arena and kernel states
	// of its own (reserved by the first call). The lists shared by all
	// kernels (the pool's jobs, sgemm's buffers) grow to the overlap seen,
	// which may take a few calls.
	old := parallel.SetWorkers(2)
	defer parallel.SetWorkers(old)
	for range 10 {
		if err := e.ForwardInto(x, out); err != nil {
			t.Fatal(err)
		}
	}
	if a := testing.AllocsPerRun(5, func() { _ = e.ForwardInto(x, out) }); a != 0 {
		t.Errorf("ForwardInto allocated %.1f times per call in steady state", a)
	}
}

func TestForwardRejectsWrongInput(t *testing.T) {
	_, _, e := compiled(t, "dla46_c", 64)
	for _, shape := range [][]int{{1, 3, 64, 96}, {1, 1, 64, 64}, {3, 64, 64}, {0, 3, 64, 64}} {
		if _, err := e.Forward(tensor.New(shape...)); err == nil {
			t.Errorf("shape %v accepted", shape)
		}
	}
}

// Each algorithm choice of the compiler, on a small graph built to reach it:
// Winograd (at 28x28 from 64 channels, at 14x14 from 128), thin groups
// merged for the direct kernels, grouped and plain direct kernels.
func TestEngineAlgorithmsMatchReference(t *testing.T) {
	for _, c := range []struct {
		name          string
		ch, groups, s int
	}{
		{"winograd", 64, 1, 28}, {"winograd-14x14", 128, 1, 14}, {"direct-64@14x14", 64, 1, 14},
		{"grouped", 128, 8, 16}, {"thin-groups", 64, 32, 14}, {"direct-7x7", 64, 1, 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := nn.NewBuilder(c.ch, c.s, c.s)
			x := b.ReLU(b.BatchNorm("bn0", b.Conv("conv0", 0, c.ch, 3, 1, 1, c.groups)))
			y := b.BatchNorm("bn1", b.Conv("conv1", x, c.ch, 3, 1, 1, c.groups))
			y = b.ReLU(b.Add(y, x))
			g, err := b.Finish(b.ConvBias("fc", b.GlobalAvgPool(y), 10, 1))
			if err != nil {
				t.Fatal(err)
			}
			w := nn.Weights(arch.SyntheticWeights(g, 3))
			in, err := tensor.FromData(kerneltest.Rand(2*c.ch*c.s*c.s, 4), 2, c.ch, c.s, c.s)
			if err != nil {
				t.Fatal(err)
			}
			want, err := nn.RunReference(g, w, in)
			if err != nil {
				t.Fatal(err)
			}
			e := checkCompiled(t, c.name, g, w, nn.Options{}, in, want)
			steps, err := e.Profile(in)
			if err != nil {
				t.Fatal(err)
			}
			if wino := strings.Contains(steps[0].Kind, "/wino"); wino != strings.HasPrefix(c.name, "winograd") {
				t.Errorf("first convolution compiled as %q", steps[0].Kind)
			}
		})
	}
}

// Batches run image by image unless Options.WholeBatch.
func TestImageByImageChoice(t *testing.T) {
	g, w, e := compiled(t, "dla46_c", 64)
	if !e.ImageByImage(4) || e.ImageByImage(1) {
		t.Errorf("ImageByImage(4) = %v, ImageByImage(1) = %v", e.ImageByImage(4), e.ImageByImage(1))
	}
	e, err := nn.CompileWith(g, w, nn.Options{WholeBatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if e.ImageByImage(4) {
		t.Error("ImageByImage(4) with Options.WholeBatch")
	}
}

// DLA's stem compiles to one fused step where conv.StemFits accepts it (on
// AVX2, with the Winograd algorithms only), and computes what the three
// convolutions compute, batches whole or image by image; it is not fused
// when another step reads an activation inside it or when its last
// convolution adds a residual.
func TestStemFusion(t *testing.T) {
	for _, variant := range []string{"stem", "shared", "residual"} {
		b := nn.NewBuilder(3, 37, 30)
		cbr := func(name string, x, out, k, stride int) int {
			return b.BatchNorm(name+".bn", b.Conv(name, x, out, k, stride, k/2, 1))
		}
		side := b.Conv("side", 0, 32, 1, 2, 0, 1) // 32 x 19 x 15, like level1
		x0 := b.ReLU(cbr("base", 0, 16, 7, 1))
		x1 := b.ReLU(cbr("level0", x0, 16, 3, 1))
		x2 := cbr("level1", x1, 32, 3, 2)
		if variant == "residual" {
			x2 = b.Add(x2, side)
		}
		y := b.Concat(b.GlobalAvgPool(b.ReLU(x2)), b.GlobalAvgPool(side))
		if variant == "shared" { // level0's output read twice
			y = b.Concat(y, b.GlobalAvgPool(x1))
		}
		g, err := b.Finish(b.ConvBias("fc", y, 10, 1))
		if err != nil {
			t.Fatal(err)
		}
		w := nn.Weights(arch.SyntheticWeights(g, 3))
		in := arch.SyntheticInput(2, 37, 30, 4)
		stem := [3]conv.Params{
			{N: 1, C: 3, H: 37, W: 30, K: 16, R: 7, S: 7, StrideH: 1, StrideW: 1, PadH: 3, PadW: 3, Groups: 1},
			{N: 1, C: 16, H: 37, W: 30, K: 16, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 1},
			{N: 1, C: 16, H: 37, W: 30, K: 32, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 1},
		}
		want, err := nn.RunReference(g, w, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, opt := range []nn.Options{{}, {WholeBatch: true}, {NoStem: true}, {NoWinograd: true}} {
			e := checkCompiled(t, fmt.Sprintf("%s %+v", variant, opt), g, w, opt, in, want)
			steps, err := e.Profile(in)
			if err != nil {
				t.Fatal(err)
			}
			fused := false
			for _, st := range steps {
				fused = fused || strings.HasPrefix(st.Kind, "stem")
			}
			if want := conv.StemFits(stem, !opt.NoWinograd) && variant == "stem" && !opt.NoStem; fused != want {
				t.Errorf("%s %+v: fused %v, want %v", variant, opt, fused, want)
			}
		}
	}
}

// A concatenation inside another is copied into it once all of its own
// inputs are written (the copy used to be dropped: it has no producing
// step to follow), whether batches run whole or image by image.
func TestNestedConcat(t *testing.T) {
	b := nn.NewBuilder(3, 8, 8)
	pooled := func(name string) int { return b.GlobalAvgPool(b.Conv(name, 0, 4, 1, 1, 0, 1)) }
	inner := b.Concat(pooled("a"), pooled("b"))
	y := b.Concat(b.Concat(inner, pooled("c")), pooled("d"))
	g, err := b.Finish(b.ConvBias("fc", y, 10, 1))
	if err != nil {
		t.Fatal(err)
	}
	w := nn.Weights(arch.SyntheticWeights(g, 3))
	in := arch.SyntheticInput(2, 8, 8, 4)
	want, err := nn.RunReference(g, w, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []nn.Options{{}, {WholeBatch: true}} {
		checkCompiled(t, fmt.Sprintf("%+v", opt), g, w, opt, in, want)
	}
}

// checkCompiled compiles g with opt, runs in and compares the logits with
// want (max |diff| / max |logit| <= 1e-4); it returns the engine.
func checkCompiled(t *testing.T, name string, g *nn.Graph, w nn.Weights, opt nn.Options, in, want *tensor.Tensor) *nn.Engine {
	t.Helper()
	e, err := nn.CompileWith(g, w, opt)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Forward(in)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxRelDiff(got.Data, want.Data); d > 1e-4 {
		t.Errorf("%s: max |diff| / max |logit| = %.3g > 1e-4", name, d)
	}
	return e
}
