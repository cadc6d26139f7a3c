package config

import (
	"fmt"

	"github.com/dla-go/dla/data"
)

// Open opens the dataset and compiles the transform ops. classes are the
// class names when the dataset gives them (see data.OpenDataset).
func (d DataLoader) Open() (src data.Source, classes []string, p *data.Pipeline, err error) {
	if p, err = data.Compile(d.Ops); err != nil {
		return nil, nil, nil, fmt.Errorf("config: %w", err)
	}
	if src, classes, err = data.OpenDataset(d.Dataset.ImageRoot, d.Dataset.ClsLabelPath); err != nil {
		return nil, nil, nil, err
	}
	if src.Len() == 0 {
		return nil, nil, nil, fmt.Errorf("config: dataset %s has no images", d.Dataset.ImageRoot)
	}
	return src, classes, p, nil
}

// Loader is the data.Loader of one epoch: the sampler's batch size, shuffle
// and drop_last, the item order and augmentation drawn from (seed, epoch),
// and num_workers decoding goroutines (at least one; they always run beside
// the consumer).
func (d DataLoader) Loader(src data.Source, p *data.Pipeline, seed uint64, epoch int) *data.Loader {
	return &data.Loader{
		Source:    src,
		BatchSize: d.BatchSize,
		Shuffle:   d.Shuffle,
		Seed:      seed,
		Epoch:     epoch,
		DropLast:  d.DropLast,
		Workers:   max(d.NumWorkers, 1),
		Shape:     p.Shape(),
		Transform: p.Transform(seed, epoch),
	}
}
