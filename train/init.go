package train

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/dla-go/dla/nn"
	"github.com/dla-go/dla/tensor"
)

// InitWeights is DLA's initialisation for training from scratch (the
// official code's, which timm and PaddleClas keep): every convolution,
// the classifier included, draws from Normal(0, sqrt(2/(kh*kw*out))); BN
// scales are 1 and shifts 0; the classifier's bias is 0 (Paddle's default);
// running means 0 and variances 1. Each tensor draws from its own stream
// of (seed, name), so the values do not depend on the order of the tensors.
func InitWeights(g *nn.Graph, seed uint64) nn.Weights {
	w := nn.Weights{}
	for _, p := range g.Params() {
		t := tensor.New(p.Shape...)
		switch {
		case len(p.Shape) == 4:
			h := fnv.New64a()
			h.Write([]byte(p.Name))
			r := rand.New(rand.NewPCG(seed, h.Sum64()))
			std := math.Sqrt(2 / float64(p.Shape[0]*p.Shape[2]*p.Shape[3]))
			for i := range t.Data {
				t.Data[i] = float32(r.NormFloat64() * std)
			}
		case strings.HasSuffix(p.Name, ".running_var"), !p.Stat && strings.HasSuffix(p.Name, ".weight"):
			for i := range t.Data {
				t.Data[i] = 1
			}
		}
		w[p.Name] = t
	}
	return w
}
