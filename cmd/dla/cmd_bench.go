package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/internal/kernel/parallel"
	"github.com/dla-go/dla/internal/kernel/tier"
	"github.com/dla-go/dla/nn"
	"github.com/dla-go/dla/tensor"
)

type benchResult struct {
	Model    string  `json:"model"`
	Batch    int     `json:"batch"`
	Size     int     `json:"size"`
	Threads  int     `json:"threads"`
	Runs     int     `json:"runs"`
	MedianMS float64 `json:"median_ms"`
	MinMS    float64 `json:"min_ms"`
	GFLOPS   float64 `json:"gflops"`
	ImagesPS float64 `json:"images_per_s"`
	ArenaMB  float64 `json:"arena_mb"`
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	model := fs.String("m", "all", "model name or all")
	batches := fs.String("b", "1,4,8", "comma-separated batch sizes")
	size := fs.Int("size", 224, "input height and width (a multiple of 32)")
	threads := fs.Int("threads", 0, "worker threads (0: all cores)")
	asJSON := fs.Bool("json", false, "one JSON object per model and batch")
	minTime := fs.Duration("min-time", 2*time.Second, "time each cell at least this long")
	maxRuns := fs.Int("max-runs", 30, "at most this many timed runs per cell")
	profile := fs.Bool("profile", false, "also print where the time goes, per layer and per kind of layer")
	trainMode := fs.Bool("train", false, "time training steps (forward, backward, SGD update) instead of inference; default -m dla46_c,dla34 -b 16")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *trainMode && !set["m"] {
		*model = "dla46_c,dla34"
	}
	if *trainMode && !set["b"] {
		*batches = "16"
	}
	if *trainMode && !set["min-time"] {
		*minTime = 10 * time.Second
	}
	var names []string
	if strings.EqualFold(*model, "all") {
		for _, v := range arch.Variants {
			names = append(names, v.Name)
		}
	} else {
		for _, n := range strings.Split(*model, ",") {
			v, err := arch.Lookup(n)
			if err != nil {
				return usagef("%v", err)
			}
			names = append(names, v.Name)
		}
	}
	var bs []int
	for _, s := range strings.Split(*batches, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || b < 1 || b > 256 {
			return usagef("bad batch size %q (want 1..256)", s)
		}
		bs = append(bs, b)
	}
	if err := arch.CheckInputSize(*size, *size); err != nil {
		return usagef("%v", err)
	}
	if *threads < 0 {
		return usagef("--threads must be >= 0")
	}
	if *threads > 0 {
		defer parallel.SetWorkers(parallel.SetWorkers(*threads))
	}
	if *trainMode {
		return benchTrain(ctx, stdout, names, bs, *size, *asJSON, *minTime)
	}
	nthreads := parallel.Workers()
	if !*asJSON {
		fmt.Fprintf(stdout, "# dla bench: %d threads, %dx%d, random weights, %s/%s\n", nthreads, *size, *size, runtime.GOOS, runtime.GOARCH)
		fmt.Fprintf(stdout, "# kernels: %s\n", tier.String())
		fmt.Fprintf(stdout, "%-9s %5s %10s %10s %9s %9s %9s\n", "model", "batch", "median ms", "min ms", "GFLOP/s", "images/s", "arena MB")
	}
	enc := json.NewEncoder(stdout)
	for _, name := range names {
		e, err := syntheticEngine(name, *size)
		if err != nil {
			return err
		}
		macs := e.Graph().MACs()
		for _, b := range bs {
			x := arch.SyntheticInput(b, *size, *size, 2)
			out := tensor.New(b, e.Classes())
			times, err := timeRuns(ctx, func() error { return e.ForwardInto(x, out) }, timing{2, 5, *maxRuns, *minTime})
			if err != nil {
				return err
			}
			r := benchResult{Model: name, Batch: b, Size: *size, Threads: nthreads, Runs: len(times),
				MedianMS: ms(median(times)), MinMS: ms(times[0]),
				ArenaMB: float64(e.ArenaBytes(b)) / (1 << 20)}
			r.GFLOPS = 2 * float64(macs) * float64(b) / (r.MedianMS / 1e3) / 1e9
			r.ImagesPS = float64(b) / (r.MedianMS / 1e3)
			if *asJSON {
				if err := enc.Encode(r); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(stdout, "%-9s %5d %10.2f %10.2f %9.1f %9.1f %9.1f\n", r.Model, r.Batch, r.MedianMS, r.MinMS, r.GFLOPS, r.ImagesPS, r.ArenaMB)
			if *profile {
				if err := printProfile(stdout, e, x, 5); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// syntheticEngine compiles a model with random weights. It keeps no copy of
// the weights beside the engine's packed ones (a dla.Model keeps them to
// compile other input sizes), so memory figures are the engine's own.
func syntheticEngine(name string, size int) (*nn.Engine, error) {
	v, err := arch.Lookup(name)
	if err != nil {
		return nil, err
	}
	g, err := v.Build(1000, size, size)
	if err != nil {
		return nil, err
	}
	return nn.Compile(g, arch.SyntheticWeights(g, 1))
}

// timing says how long to time a function: warm-up runs first, then at
// least minRuns timed runs and at least minTime, at most maxRuns.
type timing struct {
	warmups, minRuns, maxRuns int
	minTime                   time.Duration
}

// timeRuns times f as t says and returns the sorted durations.
func timeRuns(ctx context.Context, f func() error, t timing) ([]time.Duration, error) {
	for range t.warmups {
		if err := f(); err != nil {
			return nil, err
		}
	}
	var times []time.Duration
	start := time.Now()
	for len(times) < t.minRuns || (time.Since(start) < t.minTime && len(times) < t.maxRuns) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if err := f(); err != nil {
			return nil, err
		}
		times = append(times, time.Since(t0))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times, nil
}

func median(t []time.Duration) time.Duration {
	n := len(t)
	if n%2 == 1 {
		return t[n/2]
	}
	return (t[n/2-1] + t[n/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// printProfile times each compiled step over runs passes and prints the steps
// in order, then the totals per kind of layer.
func printProfile(w io.Writer, e *nn.Engine, x *tensor.Tensor, runs int) error {
	var total []nn.StepTime
	for r := range runs {
		st, err := e.Profile(x)
		if err != nil {
			return err
		}
		if r == 0 {
			total = st
			continue
		}
		for i := range st {
			total[i].Duration += st[i].Duration
		}
	}
	var sum time.Duration
	for _, s := range total {
		sum += s.Duration
	}
	type agg struct {
		d    time.Duration
		macs int64
		n    int
	}
	kinds := map[string]*agg{}
	fmt.Fprintf(w, "  %-34s %-30s %9s %6s %8s\n", "step", "kind", "ms", "%", "GFLOP/s")
	for _, s := range total {
		d := s.Duration / time.Duration(runs)
		fmt.Fprintf(w, "  %-34s %-30s %9.3f %6.1f %8.1f\n", s.Name, s.Kind, ms(d), 100*float64(s.Duration)/float64(sum), gflops(s.MACs, d))
		k := strings.Fields(s.Kind)[0]
		if kinds[k] == nil {
			kinds[k] = &agg{}
		}
		kinds[k].d += d
		kinds[k].macs += s.MACs
		kinds[k].n++
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return kinds[names[i]].d > kinds[names[j]].d })
	fmt.Fprintf(w, "  %-20s %6s %9s %6s %8s\n", "by kind", "steps", "ms", "%", "GFLOP/s")
	for _, k := range names {
		a := kinds[k]
		fmt.Fprintf(w, "  %-20s %6d %9.3f %6.1f %8.1f\n", k, a.n, ms(a.d), 100*float64(a.d)/float64(sum/time.Duration(runs)), gflops(a.macs, a.d))
	}
	return nil
}

func gflops(macs int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return 2 * float64(macs) / d.Seconds() / 1e9
}
