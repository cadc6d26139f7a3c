package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dla-go/dla"
	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/data"
	"github.com/dla-go/dla/internal/kernel/ops"
	"github.com/dla-go/dla/internal/progress"
	"github.com/dla-go/dla/nn"
	"github.com/dla-go/dla/train/config"
	"github.com/dla-go/dla/vision"
	"github.com/dla-go/dla/weights"
)

// Result summarises a finished run.
type Result struct {
	Dir        string  // {output_dir}/{Arch.name}
	Epochs     int     // epochs run by this process
	BestTop1   float64 // best eval top-1 (percent), -1 without evaluation
	BestEpoch  int
	FinalLoss  float64 // mean training loss of the last epoch
	ImagesPerS float64 // training throughput of this process
}

// run is one training run: the config and everything derived from it.
type run struct {
	cfg     *config.Config
	log     io.Writer
	dir     string
	seed    uint64
	variant arch.Variant
	classes int
	labels  []string
	prep    *vision.Options // the eval preprocessing to record; nil when unknown

	trainSrc  data.Source
	trainPipe *data.Pipeline
	evalSrc   data.Source
	evalPipe  *data.Pipeline

	tr    *nn.Trainer
	opt   *SGD
	sched config.Schedule
	iters int // iterations per epoch
	state state
	loss  float64 // train loss epsilon
	mlog  *metricsLog
}

// Run trains as cfg says: from scratch, from Global.pretrained_model, or
// resuming Global.checkpoints exactly. Progress and notices go to log.
func Run(ctx context.Context, cfg *config.Config, log io.Writer) (*Result, error) {
	r := &run{cfg: cfg, log: log, loss: cfg.TrainLoss.Epsilon}
	for _, n := range cfg.Notices {
		fmt.Fprintln(log, "notice:", n)
	}
	if err := r.openData(); err != nil {
		return nil, err
	}
	if err := r.initModel(); err != nil {
		return nil, err
	}
	var err error
	if r.mlog, err = openMetrics(filepath.Join(r.dir, metricsFile), r.state.Epoch); err != nil {
		return nil, err
	}
	defer r.mlog.Close()
	return r.loop(ctx)
}

func (r *run) openData() error {
	cfg := r.cfg
	var classes []string
	var err error
	if r.trainSrc, classes, r.trainPipe, err = cfg.Train.Open(); err != nil {
		return fmt.Errorf("train data: %w", err)
	}
	if cfg.Eval != nil && cfg.Global.EvalDuringTrain {
		if r.evalSrc, _, r.evalPipe, err = cfg.Eval.Open(); err != nil {
			return fmt.Errorf("eval data: %w", err)
		}
		if a, b := r.trainPipe.Shape(), r.evalPipe.Shape(); a[1] != b[1] || a[2] != b[2] {
			return fmt.Errorf("train images are %dx%d, eval images %dx%d: the model needs one size", a[2], a[1], b[2], b[1])
		}
	}
	r.variant, r.classes = cfg.Arch.Variant, cfg.Arch.ClassNum
	if len(classes) == r.classes {
		r.labels = classes
	}
	for i := range r.trainSrc.Len() {
		if l := r.trainSrc.Label(i); l < 0 || l >= r.classes {
			return fmt.Errorf("train data: %s has label %d, outside Arch.class_num %d", r.trainSrc.Name(i), l, r.classes)
		}
	}
	if cfg.Eval != nil {
		pipe := r.evalPipe
		if pipe == nil {
			if _, _, pipe, err = cfg.Eval.Open(); err != nil {
				return fmt.Errorf("eval data: %w", err)
			}
		}
		if opt, err := pipe.EvalOptions(); err == nil {
			r.prep = &opt
		}
	}
	if r.prep == nil {
		fmt.Fprintln(r.log, "notice: the eval transforms have no `dla predict` equivalent; checkpoints record no preprocessing")
	}
	r.iters = r.trainSrc.Len() / cfg.Train.BatchSize
	if !cfg.Train.DropLast && r.trainSrc.Len()%cfg.Train.BatchSize != 0 {
		r.iters++
	}
	if r.iters == 0 {
		return fmt.Errorf("train data: %d images make no batch of %d with drop_last", r.trainSrc.Len(), cfg.Train.BatchSize)
	}
	r.dir = filepath.Join(cfg.Global.OutputDir, cfg.Arch.Name)
	return os.MkdirAll(r.dir, 0o755)
}

// initModel builds the trainer from a checkpoint, pretrained weights or a
// fresh initialisation, and the optimizer and schedule.
func (r *run) initModel() error {
	cfg := r.cfg
	shape := r.trainPipe.Shape()
	g, err := r.variant.Build(r.classes, shape[1], shape[2])
	if err != nil {
		return err
	}
	r.opt = &SGD{Momentum: float32(cfg.Optimizer.Momentum), Nesterov: cfg.Optimizer.Nesterov, L2: float32(cfg.Optimizer.L2Coeff)}
	var w nn.Weights
	switch {
	case cfg.Global.Checkpoints != "":
		ck, err := loadCheckpoint(cfg.Global.Checkpoints, g)
		if err != nil {
			return err
		}
		w, r.state, r.opt.Velocity = ck.weights, ck.state, ck.velocity
		r.seed = r.state.Seed
		if cfg.Global.HasSeed && cfg.Global.Seed != r.seed {
			fmt.Fprintf(r.log, "notice: resuming with the checkpoint's seed %d, not Global.seed %d\n", r.seed, cfg.Global.Seed)
		}
		fmt.Fprintf(r.log, "resuming %s after epoch %d (step %d)\n", cfg.Global.Checkpoints, r.state.Epoch, r.state.Step)
	default:
		r.seed = cfg.Global.Seed
		if !cfg.Global.HasSeed {
			r.seed = rand.Uint64() >> 11 // exact in a float64, as JSON and YAML readers hold numbers
			fmt.Fprintf(r.log, "notice: Global.seed is not set; this run uses seed %d (set it to repeat the run)\n", r.seed)
		}
		r.state = state{Seed: r.seed, BestTop1: -1}
		w = InitWeights(g, r.seed)
		if p := cfg.Global.PretrainedModel; p != "" {
			if w, err = r.pretrained(p, g, w); err != nil {
				return err
			}
		}
	}
	if r.tr, err = nn.NewTrainer(g, w, cfg.Train.BatchSize); err != nil {
		return err
	}
	if err := r.opt.checkVelocity(r.tr.Params()); err != nil {
		return fmt.Errorf("%s: %w", cfg.Global.Checkpoints, err)
	}
	r.sched, err = cfg.Optimizer.LR.Schedule(r.iters, cfg.Global.Epochs)
	return err
}

// pretrained loads a weight file any importer reads (the path with or
// without its extension, as PaddleClas writes pretrained_model), keeping the
// fresh classifier when the file's has another class count.
func (r *run) pretrained(path string, g *nn.Graph, fresh nn.Weights) (nn.Weights, error) {
	found := ""
	for _, p := range []string{path, path + ".safetensors", path + ".pdparams", path + ".pth"} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			found = p
			break
		}
	}
	if found == "" {
		return nil, fmt.Errorf("Global.pretrained_model %s: no such file (also tried .safetensors, .pdparams, .pth)", path)
	}
	f, err := weights.Load(found)
	if err != nil {
		return nil, fmt.Errorf("Global.pretrained_model: %w", err)
	}
	file := nn.Weights(f.Tensors)
	if fc, ok := file["fc.weight"]; !ok || len(fc.Shape) == 0 || fc.Shape[0] != r.classes {
		what := "it has no classifier"
		if ok && len(fc.Shape) > 0 {
			what = fmt.Sprintf("its classifier has %d classes", fc.Shape[0])
		}
		delete(file, "fc.weight")
		delete(file, "fc.bias")
		file["fc.weight"], file["fc.bias"] = fresh["fc.weight"], fresh["fc.bias"]
		fmt.Fprintf(r.log, "notice: %s: %s; the classifier (fc) is initialised afresh for %d classes\n", found, what, r.classes)
	}
	m, err := dla.Load(r.variant.Name, dla.WithWeightsMap(file), dla.WithClasses(r.classes))
	if err != nil {
		return nil, fmt.Errorf("Global.pretrained_model %s: %w", found, err)
	}
	fmt.Fprintf(r.log, "starting from %s (%s)\n", found, f.Format)
	return m.Weights(), nil
}

// loop runs the remaining epochs.
func (r *run) loop(ctx context.Context) (*Result, error) {
	cfg := r.cfg
	res := &Result{Dir: r.dir, BestTop1: r.state.BestTop1, BestEpoch: r.state.BestEpoch}
	start := time.Now()
	images := 0
	for epoch := r.state.Epoch + 1; epoch <= cfg.Global.Epochs; epoch++ {
		st, err := r.trainEpoch(ctx, epoch)
		if err != nil {
			return nil, err
		}
		images += st.images
		res.Epochs++
		res.FinalLoss = st.loss
		rec := epochRecord{Epoch: epoch, Step: r.state.Step, LR: st.lr, Loss: st.loss, Top1: st.top1, Seconds: st.seconds,
			ImagesPerS: float64(st.images) / st.seconds}
		line := fmt.Sprintf("[Train][Epoch %d/%d][Avg] loss %.5f, top1 %.5f, %.1f images/s", epoch, cfg.Global.Epochs,
			st.loss, st.top1/100, rec.ImagesPerS)
		improved := false
		if r.evalSrc != nil && cfg.Global.EvalInterval > 0 && epoch%cfg.Global.EvalInterval == 0 {
			ev, err := r.evaluate(ctx)
			if err != nil {
				return nil, err
			}
			rec.EvalTop1, rec.EvalTopK, rec.EvalLoss = &ev.top1, ev.topk, &ev.loss
			line += fmt.Sprintf("\n[Eval][Epoch %d] loss %.5f, top1 %.5f%s (%d images)", epoch, ev.loss, ev.top1/100, ev.topkText(), ev.images)
			if ev.top1 > r.state.BestTop1 {
				r.state.BestTop1, r.state.BestEpoch, improved = ev.top1, epoch, true
			}
			line += fmt.Sprintf("\n[Eval][Epoch %d][best metric: %.5f at epoch %d]", epoch, r.state.BestTop1/100, r.state.BestEpoch)
		}
		fmt.Fprintln(r.log, line)
		r.state.Epoch = epoch
		r.state.History = append(r.state.History, rec)
		if err := r.save(epoch, improved); err != nil {
			return nil, err
		}
		if err := r.mlog.epoch(rec); err != nil {
			return nil, err
		}
		if err := writeCurves(filepath.Join(r.dir, curvesFile), cfg.Arch.Name, r.state.History); err != nil {
			fmt.Fprintln(r.log, "notice: curves:", err)
		}
	}
	if el := time.Since(start).Seconds(); el > 0 {
		res.ImagesPerS = float64(images) / el
	}
	res.BestTop1, res.BestEpoch = r.state.BestTop1, r.state.BestEpoch
	if err := r.exportInference(); err != nil {
		return nil, err
	}
	return res, nil
}

type epochStats struct {
	loss, top1, lr, seconds float64
	images                  int
}

// trainEpoch runs one epoch's iterations.
func (r *run) trainEpoch(ctx context.Context, epoch int) (epochStats, error) {
	cfg := r.cfg
	loader := cfg.Train.Loader(r.trainSrc, r.trainPipe, r.seed, epoch)
	loader.Prefetch = 2
	bar := progress.New(r.log, fmt.Sprintf("epoch %d/%d", epoch, cfg.Global.Epochs), r.iters)
	var st epochStats
	var lossSum float64
	var hits, iter int
	start := time.Now()
	_, err := loader.Run(ctx, func(b *data.Batch) error {
		for _, bad := range b.Errors {
			bar.Println("skipped: " + bad.Error())
		}
		n := len(b.Labels)
		if n == 0 {
			return nil
		}
		lr := r.sched.LR(r.state.Step)
		logits, err := r.tr.Forward(b.X)
		if err != nil {
			return err
		}
		d := make([]float32, len(logits))
		loss, err := ops.SoftmaxCrossEntropy(n, r.classes, logits, b.Labels, r.loss, d)
		if err != nil {
			return err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return fmt.Errorf("epoch %d, step %d: the loss is %v (learning rate %g too high?)", epoch, r.state.Step, loss, lr)
		}
		r.tr.Backward(d)
		r.opt.Step(r.tr.Params(), float32(lr))
		batchHits := topkHits(logits, b.Labels, r.classes, 1)
		hits += batchHits
		st.images += n
		lossSum += loss * float64(n)
		iter++
		r.state.Step++
		st.lr = lr
		el := time.Since(start).Seconds()
		text := fmt.Sprintf("loss %.4f top1 %.2f%% lr %.5g %.0f images/s", lossSum/float64(st.images), pct(hits, st.images), lr,
			float64(st.images)/el)
		if bar.TTY() {
			bar.Update(iter, text)
		} else if ps := cfg.Global.PrintBatchStep; ps > 0 && (iter-1)%ps == 0 {
			fmt.Fprintf(r.log, "[Train][Epoch %d/%d][Iter: %d/%d] lr %.8f, loss %.5f, top1 %.5f, %.1f images/s, eta %s\n",
				epoch, cfg.Global.Epochs, iter-1, r.iters, lr, loss, float64(batchHits)/float64(n), float64(st.images)/el,
				progress.Duration(time.Duration(float64(time.Second)*el/float64(iter)*float64(r.iters-iter))))
		}
		if ps := cfg.Global.PrintBatchStep; ps > 0 && (iter-1)%ps == 0 {
			return r.mlog.step(stepRecord{Epoch: epoch, Iter: iter - 1, Step: r.state.Step - 1, LR: lr, Loss: loss,
				Top1: pct(batchHits, n), ImagesPerS: float64(st.images) / el})
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	if st.images == 0 {
		return st, errors.New("train data: every image of the epoch failed to load")
	}
	st.seconds = time.Since(start).Seconds()
	st.loss, st.top1 = lossSum/float64(st.images), pct(hits, st.images)
	return st, nil
}

type evalStats struct {
	top1, loss float64
	topk       map[int]float64
	images     int
}

func (e evalStats) topkText() string {
	var b strings.Builder
	for k := 2; k <= 10; k++ {
		if v, ok := e.topk[k]; ok {
			fmt.Fprintf(&b, ", top%d %.5f", k, v/100)
		}
	}
	return b.String()
}

// evaluate runs the eval set through the inference engine with the current
// weights and running statistics.
func (r *run) evaluate(ctx context.Context) (evalStats, error) {
	m, err := r.model()
	if err != nil {
		return evalStats{}, err
	}
	cfg := r.cfg
	loader := cfg.Eval.Loader(r.evalSrc, r.evalPipe, r.seed, 0)
	ks := cfg.EvalTopK
	ev := evalStats{topk: map[int]float64{}}
	hits := map[int]int{}
	var lossSum float64
	eps := 0.0
	if cfg.EvalLoss != nil {
		eps = cfg.EvalLoss.Epsilon
	}
	bar := progress.New(r.log, "eval", r.evalSrc.Len())
	_, err = loader.Run(ctx, func(b *data.Batch) error {
		n := len(b.Labels)
		if n == 0 {
			return nil
		}
		logits, err := m.Forward(ctx, b.X)
		if err != nil {
			return err
		}
		loss, err := ops.SoftmaxCrossEntropy(n, r.classes, logits.Data, b.Labels, eps, nil)
		if err != nil {
			return err
		}
		lossSum += loss * float64(n)
		hits[1] += topkHits(logits.Data, b.Labels, r.classes, 1)
		for _, k := range ks {
			if k != 1 {
				hits[k] += topkHits(logits.Data, b.Labels, r.classes, k)
			}
		}
		ev.images += n
		bar.Update(ev.images+len(b.Errors), fmt.Sprintf("top1 %.2f%%", pct(hits[1], ev.images)))
		return nil
	})
	if err != nil {
		return ev, err
	}
	if ev.images == 0 {
		return ev, errors.New("eval data: no image could be loaded")
	}
	ev.top1, ev.loss = pct(hits[1], ev.images), lossSum/float64(ev.images)
	for k, h := range hits {
		if k != 1 {
			ev.topk[k] = pct(h, ev.images)
		}
	}
	return ev, nil
}

// model is an inference model of the current weights.
func (r *run) model() (*dla.Model, error) {
	opts := []dla.Option{dla.WithWeightsMap(r.tr.Weights()), dla.WithClasses(r.classes)}
	if r.labels != nil {
		opts = append(opts, dla.WithLabels(r.labels))
	}
	if r.prep != nil {
		opts = append(opts, dla.WithPreprocessing(*r.prep))
	}
	return dla.Load(r.variant.Name, opts...)
}

// topkHits counts the rows whose label is among the k largest logits (ties
// in the label's favour, as `dla eval` counts).
func topkHits(logits []float32, labels []int, classes, k int) int {
	hits := 0
	for i, l := range labels {
		row := logits[i*classes : (i+1)*classes]
		above := 0
		for _, v := range row {
			if v > row[l] {
				above++
			}
		}
		if above < k {
			hits++
		}
	}
	return hits
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}
