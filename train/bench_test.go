package train

import (
	"fmt"
	"testing"

	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/internal/kernel/ops"
	"github.com/dla-go/dla/nn"
)

// BenchmarkTrainStep times one training step (forward, loss, backward,
// update) on synthetic data; images/s is reported.
func BenchmarkTrainStep(b *testing.B) {
	for _, c := range []struct {
		model       string
		size, batch int
	}{{"dla46_c", 32, 128}, {"dla46_c", 224, 16}, {"dla34", 224, 16}} {
		b.Run(fmt.Sprintf("%s/%d/b%d", c.model, c.size, c.batch), func(b *testing.B) {
			v, err := arch.Lookup(c.model)
			if err != nil {
				b.Fatal(err)
			}
			g, err := v.Build(10, c.size, c.size)
			if err != nil {
				b.Fatal(err)
			}
			tr, err := nn.NewTrainer(g, InitWeights(g, 1), c.batch)
			if err != nil {
				b.Fatal(err)
			}
			x := arch.SyntheticNoise(c.batch, c.size, c.size, 1)
			labels := make([]int, c.batch)
			for i := range labels {
				labels[i] = i % 10
			}
			opt := &SGD{Momentum: 0.9, L2: 1e-4}
			d := make([]float32, c.batch*10)
			b.ResetTimer()
			for range b.N {
				logits, err := tr.Forward(x)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ops.SoftmaxCrossEntropy(c.batch, 10, logits, labels, 0, d); err != nil {
					b.Fatal(err)
				}
				tr.Backward(d)
				opt.Step(tr.Params(), 0.01)
			}
			b.ReportMetric(float64(c.batch*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
