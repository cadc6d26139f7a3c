// Package train trains and fine-tunes DLA models on the CPU from PaddleClas
// configs: the optimizer, the training loop with evaluation, checkpoints that
// resume exactly, metrics and curves.
package train

import (
	"fmt"

	"github.com/dla-go/dla/internal/kernel/parallel"
	"github.com/dla-go/dla/nn"
)

// SGD is PaddleClas's Momentum optimizer with an L2Decay regularizer, which
// is also PyTorch's SGD with dampening 0: for every parameter,
//
//	g = grad + L2*w;  v = Momentum*v + g
//	w -= lr * (Nesterov ? g + Momentum*v : v)
type SGD struct {
	Momentum float32
	Nesterov bool
	L2       float32
	// Velocity holds v by parameter name (created at the first step; saved in
	// checkpoints so that a resumed run continues exactly).
	Velocity map[string][]float32
}

// Step updates every parameter in place from its gradient with learning rate lr.
func (o *SGD) Step(params []*nn.Param, lr float32) {
	if o.Velocity == nil {
		o.Velocity = map[string][]float32{}
	}
	for _, p := range params {
		v := o.Velocity[p.Name]
		if v == nil {
			v = make([]float32, len(p.Data))
			o.Velocity[p.Name] = v
		}
		o.update(p.Data, p.Grad, v, lr)
	}
}

// grain keeps a parallel task at least this many parameters long.
const grain = 1 << 15

func (o *SGD) update(w, grad, v []float32, lr float32) {
	mu, l2, nesterov := o.Momentum, o.L2, o.Nesterov
	parallel.For(len(w), grain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g := grad[i] + l2*w[i]
			v[i] = mu*v[i] + g
			if nesterov {
				w[i] -= lr * (g + mu*v[i])
			} else {
				w[i] -= lr * v[i]
			}
		}
	})
}

// checkVelocity verifies restored optimizer state against the parameters.
func (o *SGD) checkVelocity(params []*nn.Param) error {
	for _, p := range params {
		if v, ok := o.Velocity[p.Name]; ok && len(v) != len(p.Data) {
			return fmt.Errorf("optimizer state for %s holds %d values, the parameter %d", p.Name, len(v), len(p.Data))
		}
	}
	return nil
}
