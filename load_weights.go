package dla

import (
	"path"

	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/nn"
	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/weights"
)

type weightFile struct {
	tensors nn.Weights
	meta    map[string]string
}

func readWeights(p string) (*weightFile, error) {
	f, err := weights.Load(p)
	if err != nil {
		return nil, err
	}
	return newWeightFile(f), nil
}

// newWeightFile keeps f's tensors and metadata, with the format it was read from.
func newWeightFile(f *weights.File) *weightFile {
	meta := map[string]string{MetaSourceFormat: f.Format}
	for k, v := range f.Metadata {
		meta[k] = v
	}
	return &weightFile{tensors: f.Tensors, meta: meta}
}

// bindWeights matches file tensors to the graph strictly; tensors allowed to
// be missing get synthetic initial values (a new classifier for fine-tuning).
func bindWeights(g *nn.Graph, got nn.Weights, allowMissing []string, seed uint64) (nn.Weights, error) {
	var want []weights.Spec
	for _, p := range g.Params() {
		want = append(want, weights.Spec{Name: p.Name, Shape: p.Shape})
	}
	bound, err := weights.Bind(want, map[string]*tensor.Tensor(got), weights.BindOptions{AllowMissing: allowMissing})
	if err != nil {
		return nil, err
	}
	for _, p := range g.Params() {
		if _, ok := bound[p.Name]; !ok {
			for _, pat := range allowMissing {
				if ok, _ := path.Match(pat, p.Name); ok {
					bound[p.Name] = arch.SyntheticTensor(p, seed)
				}
			}
		}
	}
	return nn.Weights(bound), nil
}
