package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/internal/kernel/ops"
	"github.com/dla-go/dla/internal/kernel/parallel"
	"github.com/dla-go/dla/nn"
	"github.com/dla-go/dla/train"
)

type trainBenchResult struct {
	Model     string  `json:"model"`
	Mode      string  `json:"mode"` // "train"
	Batch     int     `json:"batch"`
	Size      int     `json:"size"`
	Threads   int     `json:"threads"`
	Runs      int     `json:"runs"`
	MedianMS  float64 `json:"step_ms_median"`
	MinMS     float64 `json:"step_ms_min"`
	ImagesPS  float64 `json:"images_per_s"`
	GFLOPS    float64 `json:"approx_gflops"` // 3 x the forward's FLOPs per image, as peers/train_bench.py counts
	PeakRSSMB float64 `json:"peak_rss_mb"`   // of the whole process so far
}

// benchTrain times training steps (forward in training mode, softmax
// cross-entropy, backward, SGD momentum update) on random data, as
// ../shared/peers/train_bench.py times PyTorch's.
func benchTrain(ctx context.Context, stdout io.Writer, names []string, bs []int, size int, asJSON bool, minTime time.Duration) error {
	nthreads := parallel.Workers()
	if !asJSON {
		fmt.Fprintf(stdout, "# dla bench --train: %d threads, %dx%d, SGD momentum, random data\n", nthreads, size, size)
		fmt.Fprintf(stdout, "%-9s %5s %12s %10s %9s %9s %12s\n", "model", "batch", "median ms", "min ms", "images/s", "GFLOP/s", "peak RSS MB")
	}
	enc := json.NewEncoder(stdout)
	for _, name := range names {
		v, err := arch.Lookup(name)
		if err != nil {
			return err
		}
		g, err := v.Build(1000, size, size)
		if err != nil {
			return err
		}
		for _, b := range bs {
			times, err := timeTrainSteps(ctx, g, b, minTime)
			if err != nil {
				return err
			}
			r := trainBenchResult{Model: name, Mode: "train", Batch: b, Size: size, Threads: nthreads, Runs: len(times),
				MedianMS: ms(median(times)), MinMS: ms(times[0]), PeakRSSMB: peakRSSMB()}
			r.ImagesPS = float64(b) / (r.MedianMS / 1e3)
			r.GFLOPS = 3 * 2 * float64(g.MACs()) * float64(b) / (r.MedianMS / 1e3) / 1e9
			if asJSON {
				if err := enc.Encode(r); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(stdout, "%-9s %5d %12.1f %10.1f %9.2f %9.1f %12.0f\n", r.Model, r.Batch, r.MedianMS, r.MinMS, r.ImagesPS, r.GFLOPS, r.PeakRSSMB)
		}
	}
	return nil
}

// timeTrainSteps times training steps: one warm-up step, then at least
// three and at least minTime; it returns the sorted durations.
func timeTrainSteps(ctx context.Context, g *nn.Graph, batch int, minTime time.Duration) ([]time.Duration, error) {
	tr, err := nn.NewTrainer(g, train.InitWeights(g, 1), batch)
	if err != nil {
		return nil, err
	}
	opt := &train.SGD{Momentum: 0.9, L2: 1e-4}
	x := arch.SyntheticNoise(batch, g.InH, g.InW, 1)
	classes := g.Shape(g.Output)[0]
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = (7 * i) % classes
	}
	d := make([]float32, batch*classes)
	step := func() error {
		logits, err := tr.Forward(x)
		if err != nil {
			return err
		}
		if _, err := ops.SoftmaxCrossEntropy(batch, classes, logits, labels, 0, d); err != nil {
			return err
		}
		tr.Backward(d)
		opt.Step(tr.Params(), 0.01)
		return nil
	}
	return timeRuns(ctx, step, timing{warmups: 1, minRuns: 3, maxRuns: 1 << 20, minTime: minTime})
}
