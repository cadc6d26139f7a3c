package train

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/dla-go/dla"
	"github.com/dla-go/dla/onnx"
	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/weights"
)

// exportInference writes the best model (the latest without evaluation) to
// Global.save_inference_dir as inference.safetensors and inference.onnx, the
// files PaddleClas's export step would leave there in its own formats.
func (r *run) exportInference() error {
	dir := r.cfg.Global.SaveInferenceDir
	if dir == "" {
		return nil
	}
	name := latestName
	if r.state.BestEpoch > 0 {
		name = bestName
	}
	src := filepath.Join(r.dir, name+weightsSuffix)
	m, err := dla.Open(dla.WithWeights(src))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := weights.WriteSafetensors(filepath.Join(dir, "inference.safetensors"), map[string]*tensor.Tensor(m.Weights()), m.Metadata()); err != nil {
		return err
	}
	shape := r.trainPipe.Shape()
	g, err := m.Graph(shape[1], shape[2])
	if err != nil {
		return err
	}
	labels := make([]string, m.Classes())
	for i := range labels {
		labels[i] = m.Label(i)
	}
	opt := onnx.Options{Labels: labels, ModelName: m.Variant().Name}
	if p, ok := m.Metadata()[dla.MetaPreprocessing]; ok {
		opt.Preprocess = map[string]string{dla.MetaPreprocessing: p}
	}
	if err := onnx.WriteFile(filepath.Join(dir, "inference.onnx"), g, m.Weights(), opt); err != nil {
		return err
	}
	fmt.Fprintf(r.log, "exported %s to %s (inference.safetensors, inference.onnx)\n", name, dir)
	return nil
}
