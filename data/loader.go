package data

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/vision"
)

// Transform turns a decoded image into one CHW slot of a batch. index is the
// item's position in Loader.Items, so per-item randomness can be seeded from
// it and stay reproducible whatever the worker count.
type Transform func(dst []float32, img *vision.RGB, index int) error

// TrainTransform is the PaddleClas training transform (random resized crop,
// horizontal flip, normalisation with opt's mean, std and scale) with item i
// drawing from rand.NewPCG(seed, i). Change seed every epoch for fresh crops.
func TrainTransform(crop vision.RandCrop, seed uint64, opt vision.Options) Transform {
	return func(dst []float32, img *vision.RGB, index int) error {
		r := rand.New(rand.NewPCG(seed, uint64(index)))
		return vision.TrainPreprocessInto(dst, img, crop, r, opt)
	}
}

// Loader decodes and preprocesses Items into batches with a bounded number of
// goroutines. Items that fail (unreadable, undecodable, too small) are
// reported in their batch and left out of it; they do not stop the run.
type Loader struct {
	Items     []Item
	BatchSize int            // 0 means 64
	Workers   int            // decoding goroutines; 0 means GOMAXPROCS
	Prefetch  int            // batches prepared ahead of the consumer; 0 means 1
	Options   vision.Options // decoding limits and the eval pipeline
	// Shape is the per-item [C, H, W]; nil means Options.InputShape().
	Shape []int
	// Transform replaces the eval pipeline of Options when set.
	Transform Transform
}

// ItemError is one item that could not be loaded.
type ItemError struct {
	Index int
	Path  string
	Err   error
}

func (e ItemError) Error() string { return fmt.Sprintf("item %d (%s): %v", e.Index, e.Path, e.Err) }

// Batch is one batch in item order. X has one row per loaded item; Labels and
// Indices (positions in Loader.Items) are parallel to its rows.
type Batch struct {
	Number  int
	X       *tensor.Tensor
	Labels  []int
	Indices []int
	Errors  []ItemError
}

// Stats counts a run's items.
type Stats struct {
	Items, Loaded, Failed int
}

// Run delivers the batches to fn in order. It stops at the first error from
// fn or when ctx is done, and returns the counts so far.
func (l *Loader) Run(ctx context.Context, fn func(*Batch) error) (Stats, error) {
	var st Stats
	bs, workers, prefetch := l.BatchSize, l.Workers, l.Prefetch
	if bs <= 0 {
		bs = 64
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if prefetch <= 0 {
		prefetch = 1
	}
	shape := l.Shape
	if shape == nil {
		if err := l.Options.Validate(); err != nil {
			return st, err
		}
		shape = l.Options.InputShape()
	}
	per, err := tensor.CheckShape(shape)
	if err != nil || len(shape) != 3 || per == 0 {
		return st, fmt.Errorf("data: bad item shape %v", shape)
	}
	if _, err := tensor.CheckShape(append([]int{bs}, shape...)); err != nil {
		return st, fmt.Errorf("data: batch: %w", err)
	}
	transform := l.Transform
	if transform == nil {
		opt := l.Options
		transform = func(dst []float32, img *vision.RGB, _ int) error {
			return vision.PreprocessInto(dst, img, opt)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make(chan *Batch, prefetch)
	sem := make(chan struct{}, workers)
	go func() {
		defer close(out)
		for b, start := 0, 0; start < len(l.Items); b, start = b+1, start+bs {
			end := min(start+bs, len(l.Items))
			batch := l.load(ctx, b, start, end, shape, per, transform, sem)
			select {
			case out <- batch:
			case <-ctx.Done():
				return
			}
		}
	}()
	for batch := range out {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		st.Items += len(batch.Indices) + len(batch.Errors)
		st.Loaded += len(batch.Indices)
		st.Failed += len(batch.Errors)
		if err := fn(batch); err != nil {
			return st, err
		}
	}
	return st, ctx.Err()
}

// load prepares items [start, end) in parallel, each straight into its slot,
// then closes the gaps failed items left.
func (l *Loader) load(ctx context.Context, number, start, end int, shape []int, per int, transform Transform, sem chan struct{}) *Batch {
	n := end - start
	buf := make([]float32, n*per)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		if ctx.Err() != nil {
			errs[i] = ctx.Err()
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			it := l.Items[start+i]
			img, err := vision.DecodeFile(it.Path, l.Options)
			if err == nil {
				err = transform(buf[i*per:(i+1)*per], img, start+i)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	b := &Batch{Number: number}
	k := 0
	for i := range n {
		if errs[i] != nil {
			b.Errors = append(b.Errors, ItemError{Index: start + i, Path: l.Items[start+i].Path, Err: errs[i]})
			continue
		}
		if k != i {
			copy(buf[k*per:(k+1)*per], buf[i*per:(i+1)*per])
		}
		b.Labels = append(b.Labels, l.Items[start+i].Label)
		b.Indices = append(b.Indices, start+i)
		k++
	}
	b.X = &tensor.Tensor{Shape: append([]int{k}, shape...), Data: buf[:k*per]}
	return b
}
