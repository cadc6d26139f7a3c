// Package config reads PaddleClas training configs (the yaml files of
// ppcls/configs, e.g. ImageNet/DLA/DLA34.yaml) and PaddleClas's -o
// Key.Path=value overrides, typing every value as PaddleClas types it, into
// the settings the trainer runs with. Keys PaddleClas configs use that this
// project does not implement are errors that say so; unknown keys are errors
// too, so that a typo never passes silently.
package config

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/data"
)

// Config is a parsed training config.
type Config struct {
	Global    Global
	Arch      Arch
	TrainLoss Loss
	EvalLoss  *Loss // nil when Loss.Eval is absent (no eval loss is reported)
	Optimizer Optimizer
	Train     DataLoader
	Eval      *DataLoader // nil when DataLoader.Eval is absent
	// TrainTopK and EvalTopK are Metric.Train and Metric.Eval's TopkAcc
	// topk; nil when the metric is absent.
	TrainTopK, EvalTopK []int
	// Effective is the config after the overrides, as YAML, to record in
	// checkpoints; Parse reads it back to the same Config.
	Effective []byte
	// Notices are one-line remarks for the user, such as PaddleClas's own
	// warnings ("Global.device gpu: running on the CPU").
	Notices []string
}

// Global is the Global section.
type Global struct {
	Checkpoints      string // a saved epoch to resume, without extension; "" when null
	PretrainedModel  string // a weight file to start from; "" when null
	OutputDir        string
	Device           string // as written; training runs on the CPU
	SaveInterval     int    // epochs between epoch_N saves; 0 or less saves none
	EvalDuringTrain  bool
	EvalInterval     int
	Epochs           int
	PrintBatchStep   int
	ImageShape       []int // [C, H, W] for export; nil when absent
	SaveInferenceDir string
	Seed             uint64 // meaningful when HasSeed
	HasSeed          bool
}

// Arch is the Arch section.
type Arch struct {
	Name     string       // as written, e.g. "DLA34" (PaddleClas names output folders with it)
	Variant  arch.Variant // the model Name denotes, in either spelling
	ClassNum int
}

// Loss is a CELoss entry of Loss.Train or Loss.Eval.
type Loss struct {
	// Weight is CELoss's weight. PaddleClas ignores it when CELoss is the
	// only loss, which it always is here.
	Weight float64
	// Epsilon is the label smoothing (the target is (1-e)*onehot + e/classes);
	// 0 means none. PaddleClas drops values outside (0, 1), and so does Parse.
	Epsilon float64
}

// Optimizer is the Optimizer section: Momentum with an L2 regularizer.
type Optimizer struct {
	Momentum float64
	Nesterov bool
	LR       LRConfig
	// L2Coeff is the regularizer's coeff (or the weight_decay number),
	// added as L2Coeff*w to every parameter's gradient; 0 means none.
	L2Coeff float64
}

// DataLoader is a DataLoader.Train or DataLoader.Eval section.
type DataLoader struct {
	Dataset    Dataset
	Ops        []data.Op // transform_ops; data.Compile makes them a pipeline
	BatchSize  int
	Shuffle    bool
	DropLast   bool
	NumWorkers int // loader.num_workers as written (PaddleClas: 0 loads in the training process)
}

// Dataset is an ImageNetDataset: see data.OpenDataset for the layouts
// ImageRoot and ClsLabelPath may describe.
type Dataset struct {
	Name, ImageRoot, ClsLabelPath string
}

// Load reads the config file at path and applies overrides.
func Load(path string, overrides []string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	c, err := Parse(src, overrides)
	if err != nil {
		return nil, prefixErrors(path, err)
	}
	return c, nil
}

// Parse reads a config from src and applies overrides ("Key.Path=value",
// PaddleClas's -o syntax). Every problem found is reported, one per line.
func Parse(src []byte, overrides []string) (*Config, error) {
	tree, err := parseYAML(src)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var notices []string
	for _, o := range overrides {
		n, err := applyOverride(tree, o)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if n != "" {
			notices = append(notices, n)
		}
	}
	r := &reader{notices: notices}
	c := r.config(tree)
	if len(r.errs) > 0 {
		return nil, errors.Join(r.errs...)
	}
	if c.Effective, err = toYAML(tree); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c.Notices = r.notices
	return c, nil
}

// prefixErrors names the file on each line of a joined error.
func prefixErrors(path string, err error) error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return fmt.Errorf("%s: %w", path, err)
	}
	errs := joined.Unwrap()
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = fmt.Errorf("%s: %w", path, e)
	}
	return errors.Join(out...)
}
