package data

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/vision"
)

// Transform turns a decoded image into one CHW slot of a batch. index is the
// item's index in the Source, so per-item randomness can be drawn from it
// and stay reproducible whatever the order and the worker count.
type Transform func(dst []float32, img *vision.RGB, index int) error

// Loader decodes and preprocesses a Source's items into batches with a
// bounded number of goroutines, preparing the next batches while the
// consumer works on the current one. Items that fail (unreadable,
// undecodable, too small) are reported in their batch and left out of it;
// they do not stop the run.
type Loader struct {
	Source    Source
	BatchSize int // 0 means 64
	// Shuffle visits the items in EpochOrder(n, true, Seed, Epoch) instead
	// of 0..n-1.
	Shuffle bool
	Seed    uint64
	Epoch   int
	// DropLast leaves out a last batch shorter than BatchSize.
	DropLast bool
	Workers  int            // decoding goroutines; 0 means GOMAXPROCS
	Prefetch int            // batches prepared ahead of the consumer; 0 means 1
	Options  vision.Options // decoding limits and the eval pipeline
	// Shape is the per-item [C, H, W]; nil means Options.InputShape().
	Shape []int
	// Transform replaces the eval pipeline of Options when set. Without
	// one, a Source that is a Preprocessor runs the pipeline itself.
	Transform Transform
}

// ItemError is one item that could not be loaded.
type ItemError struct {
	Index int
	Path  string
	Err   error
}

func (e ItemError) Error() string { return fmt.Sprintf("item %d (%s): %v", e.Index, e.Path, e.Err) }

// Batch is one batch in visiting order. X has one row per loaded item;
// Labels and Indices (indices in the Source) are parallel to its rows.
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
	if l.Source == nil {
		return st, fmt.Errorf("data: loader has no source")
	}
	bs, workers, prefetch := l.batchSize(), l.Workers, l.Prefetch
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
	item := l.itemLoader()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make(chan *Batch, prefetch)
	sem := make(chan struct{}, workers)
	order := EpochOrder(l.Source.Len(), l.Shuffle, l.Seed, l.Epoch)
	if l.DropLast {
		order = order[:len(order)/bs*bs]
	}
	go func() {
		defer close(out)
		for b, start := 0, 0; start < len(order); b, start = b+1, start+bs {
			end := min(start+bs, len(order))
			batch := l.load(ctx, b, order[start:end], shape, per, item, sem)
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

// Batches is the number of batches a run delivers (some may be short of
// items that failed to load).
func (l *Loader) Batches() int {
	n, bs := 0, l.batchSize()
	if l.Source != nil {
		n = l.Source.Len()
	}
	if l.DropLast {
		return n / bs
	}
	return (n + bs - 1) / bs
}

func (l *Loader) batchSize() int {
	if l.BatchSize <= 0 {
		return 64
	}
	return l.BatchSize
}

// itemLoader returns how item i becomes the batch slot dst: the Transform
// on the decoded image, or the eval pipeline of Options, run by the Source
// when it is a Preprocessor.
func (l *Loader) itemLoader() func(dst []float32, i int) error {
	opt := l.Options
	if p, ok := l.Source.(Preprocessor); ok && l.Transform == nil {
		return func(dst []float32, i int) error { return p.Preprocess(dst, i, opt) }
	}
	transform := l.Transform
	if transform == nil {
		transform = func(dst []float32, img *vision.RGB, _ int) error {
			return vision.PreprocessInto(dst, img, opt)
		}
	}
	return func(dst []float32, i int) error {
		img, err := l.Source.Image(i, opt)
		if err != nil {
			return err
		}
		return transform(dst, img, i)
	}
}

// load prepares the items of one batch in parallel, each straight into its
// slot, then closes the gaps failed items left.
func (l *Loader) load(ctx context.Context, number int, items []int, shape []int, per int, item func(dst []float32, i int) error, sem chan struct{}) *Batch {
	n := len(items)
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
			errs[i] = item(buf[i*per:(i+1)*per], items[i])
		}()
	}
	wg.Wait()
	b := &Batch{Number: number}
	k := 0
	for i := range n {
		if errs[i] != nil {
			b.Errors = append(b.Errors, ItemError{Index: items[i], Path: l.Source.Name(items[i]), Err: errs[i]})
			continue
		}
		if k != i {
			copy(buf[k*per:(k+1)*per], buf[i*per:(i+1)*per])
		}
		b.Labels = append(b.Labels, l.Source.Label(items[i]))
		b.Indices = append(b.Indices, items[i])
		k++
	}
	b.X = &tensor.Tensor{Shape: append([]int{k}, shape...), Data: buf[:k*per]}
	return b
}
