package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/dla-go/dla/internal/atomicfile"
)

const (
	metricsFile = "metrics.jsonl"
	curvesFile  = "curves.png"
)

// stepRecord is a metrics line for one logged iteration (every
// Global.print_batch_step iterations).
type stepRecord struct {
	Kind       string  `json:"kind"` // "step"
	Epoch      int     `json:"epoch"`
	Iter       int     `json:"iter"` // within the epoch, from 0
	Step       int     `json:"step"` // over the run, from 0
	LR         float64 `json:"lr"`
	Loss       float64 `json:"loss"`
	Top1       float64 `json:"top1"` // percent, this batch
	ImagesPerS float64 `json:"images_per_s"`
}

// epochRecord is a metrics line for one epoch; the eval fields are absent
// when the epoch was not evaluated.
type epochRecord struct {
	Kind       string          `json:"kind"` // "epoch"
	Epoch      int             `json:"epoch"`
	Step       int             `json:"step"` // iterations completed
	LR         float64         `json:"lr"`   // of the epoch's last iteration
	Loss       float64         `json:"loss"` // mean over the epoch's images
	Top1       float64         `json:"top1"` // percent, on the augmented training batches
	Seconds    float64         `json:"seconds"`
	ImagesPerS float64         `json:"images_per_s"`
	EvalLoss   *float64        `json:"eval_loss,omitempty"`
	EvalTop1   *float64        `json:"eval_top1,omitempty"`
	EvalTopK   map[int]float64 `json:"eval_topk,omitempty"`
}

// metricsLog appends JSON lines to metrics.jsonl.
type metricsLog struct {
	f *os.File
	w *bufio.Writer
}

// openMetrics opens path for appending after dropping the lines of epochs
// after keep (a resumed run repeats them), rewriting the file atomically.
func openMetrics(path string, keep int) (*metricsLog, error) {
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		var kept bytes.Buffer
		for _, line := range bytes.SplitAfter(old, []byte("\n")) {
			var rec struct {
				Epoch int `json:"epoch"`
			}
			if json.Unmarshal(line, &rec) == nil && rec.Epoch <= keep && rec.Epoch > 0 && bytes.HasSuffix(line, []byte("\n")) {
				kept.Write(line)
			}
		}
		if err := atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(kept.Bytes()); return err }); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &metricsLog{f: f, w: bufio.NewWriter(f)}, nil
}

// write appends one line and flushes it, so that the file follows the run.
func (m *metricsLog) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := m.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if err := m.w.Flush(); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

func (m *metricsLog) step(r stepRecord) error {
	r.Kind = "step"
	return m.write(r)
}

func (m *metricsLog) epoch(r epochRecord) error {
	r.Kind = "epoch"
	return m.write(r)
}

func (m *metricsLog) Close() error {
	err := m.w.Flush()
	if cerr := m.f.Close(); err == nil {
		err = cerr
	}
	return err
}
