package config

import (
	"fmt"
	"math"
	"math/big"
	"sync"
)

// LRConfig is Optimizer.lr: PaddleClas's Piecewise or Cosine schedule with
// an optional linear warmup.
type LRConfig struct {
	Name string // "Piecewise" or "Cosine"
	// LearningRate is Cosine's starting rate. For Piecewise, when it is
	// non-zero PaddleClas ignores DecayEpochs and Values and decays it 10x
	// every 30 epochs instead (see Piecewise).
	LearningRate float64
	DecayEpochs  []float64 // Piecewise: epochs at which Values moves on
	Values       []float64 // Piecewise: len(DecayEpochs)+1 or more rates
	EtaMin       float64   // Cosine: the final rate
	// WarmupEpoch epochs (rounded half to even to whole iterations) rise
	// linearly from WarmupStartLR; the schedule proper starts after them.
	WarmupEpoch   float64
	WarmupStartLR float64
	// ByEpoch steps the schedule once per epoch instead of per iteration.
	ByEpoch bool
}

// Schedule gives the learning rate of each training iteration.
type Schedule interface {
	// LR is the rate of iteration i (0-based, counted over all epochs): the
	// value PaddleClas's scheduler holds while iteration i runs. Paddle
	// feeds the optimizer float32(LR(i)).
	LR(i int) float64
}

// Piecewise returns the decay epochs and values PaddleClas's Piecewise uses
// with epochs epochs: the configured ones, or, when LearningRate is set,
// 10x decays every 30 epochs (learning_rate*0.1**k; below 30 epochs a
// constant rate).
func (lr LRConfig) Piecewise(epochs int) (decayEpochs, values []float64) {
	if lr.LearningRate == 0 {
		return lr.DecayEpochs, lr.Values
	}
	n := (epochs + 29) / 30 // len(range(0, epochs, 30))
	for k := range n {
		decayEpochs = append(decayEpochs, float64(30*k))
		values = append(values, lr.LearningRate*pow10neg(k))
	}
	if n <= 1 {
		return []float64{float64(epochs)}, []float64{values[0], values[0]}
	}
	return decayEpochs[1:], values
}

// pow10neg is Python's 0.1**k: the double nearest to the exact power of
// the double 0.1 (glibc's pow is correctly rounded on these).
func pow10neg(k int) float64 {
	tenth := new(big.Float).SetFloat64(0.1)
	p := new(big.Float).SetPrec(uint(53*k + 64)).SetFloat64(1)
	for range k {
		p.Mul(p, tenth)
	}
	f, _ := p.Float64()
	return f
}

// warmupSteps is LRBase's warmup length in scheduler steps, after clamping
// the warmup to the training length.
func (lr LRConfig) warmupSteps(itersPerEpoch, epochs int) (steps int, warmupEpoch float64) {
	warmupEpoch = min(lr.WarmupEpoch, float64(epochs))
	if lr.ByEpoch {
		return int(warmupEpoch), warmupEpoch
	}
	return int(math.RoundToEven(warmupEpoch * float64(itersPerEpoch))), warmupEpoch
}

// Schedule builds the schedule for a run of epochs epochs of itersPerEpoch
// iterations, as PaddleClas builds it: the rate is stepped after every
// iteration (or every epoch with ByEpoch), and after a warmup of W steps the
// schedule proper runs from its own step 0, so Piecewise's boundaries move
// W steps later while Cosine's T_max is shortened by the warmup.
func (lr LRConfig) Schedule(itersPerEpoch, epochs int) (Schedule, error) {
	if itersPerEpoch < 1 || epochs < 1 {
		return nil, fmt.Errorf("config: schedule for %d epochs of %d iterations", epochs, itersPerEpoch)
	}
	spe := itersPerEpoch
	if lr.ByEpoch {
		spe = 1
	}
	s := &schedule{itersPerEpoch: itersPerEpoch, byEpoch: lr.ByEpoch, start: lr.WarmupStartLR}
	warmEpochs := 0.0
	s.warm, warmEpochs = lr.warmupSteps(itersPerEpoch, epochs)
	switch lr.Name {
	case "Piecewise":
		decay, values := lr.Piecewise(epochs)
		if len(decay) == 0 || len(values) <= len(decay) {
			return nil, fmt.Errorf("config: Piecewise needs one more value than decay epochs, have %d and %d", len(values), len(decay))
		}
		bounds := make([]float64, len(decay))
		for i, e := range decay {
			bounds[i] = e * float64(spe)
		}
		s.end = values[0]
		s.after = func(k int) float64 {
			for i, b := range bounds {
				if float64(k) < b {
					return values[i]
				}
			}
			return values[len(values)-1]
		}
	case "Cosine":
		tmax := int((float64(epochs) - warmEpochs) * float64(spe))
		s.end = lr.LearningRate
		switch {
		case tmax <= 0:
			s.after = func(int) float64 { return lr.LearningRate }
		case s.warm > 0:
			// LinearWarmup steps the inner scheduler to an explicit step,
			// which Paddle computes in closed form.
			s.after = func(k int) float64 { return cosineClosed(lr.LearningRate, lr.EtaMin, tmax, k) }
		default:
			// Stepped one by one, Paddle's CosineAnnealingDecay updates the
			// rate recursively from the previous one.
			c := &cosineSteps{base: lr.LearningRate, eta: lr.EtaMin, tmax: tmax, lr: lr.LearningRate}
			s.after = c.at
		}
	default:
		return nil, fmt.Errorf("config: learning-rate schedule %q is not supported", lr.Name)
	}
	if s.warm > 0 && !(s.end > s.start) {
		return nil, fmt.Errorf("config: the warmup must rise: warmup_start_lr %v is not below the learning rate %v", s.start, s.end)
	}
	return s, nil
}

type schedule struct {
	itersPerEpoch int
	byEpoch       bool
	warm          int     // warmup steps
	start, end    float64 // warmup from start to end
	after         func(k int) float64
}

func (s *schedule) LR(i int) float64 {
	t := max(i, 0)
	if s.byEpoch {
		t /= s.itersPerEpoch
	}
	if t < s.warm {
		return (s.end-s.start)*float64(t)/float64(s.warm) + s.start
	}
	return s.after(t - s.warm)
}

// cosineClosed is CosineAnnealingDecay's closed form at step k.
func cosineClosed(base, eta float64, tmax, k int) float64 {
	return eta + (base-eta)*(1+math.Cos(math.Pi*float64(k)/float64(tmax)))/2
}

// cosineSteps is CosineAnnealingDecay stepped one step at a time, each rate
// derived from the previous one. It keeps its position, so reading the steps
// in order costs one update each.
type cosineSteps struct {
	mu        sync.Mutex
	base, eta float64
	tmax      int
	k         int // the step lr belongs to
	lr        float64
}

func (c *cosineSteps) at(k int) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k < c.k {
		c.k, c.lr = 0, c.base
	}
	T := float64(c.tmax)
	for c.k < k {
		c.k++
		t := float64(c.k)
		if ((c.k-1-c.tmax)%(2*c.tmax)+2*c.tmax)%(2*c.tmax) == 0 {
			c.lr += (c.base - c.eta) * (1 - math.Cos(math.Pi/T)) / 2
		} else {
			// The conversion keeps the product rounded on its own (no fused multiply-add).
			c.lr = float64((1+math.Cos(math.Pi*t/T))/(1+math.Cos(math.Pi*(t-1)/T))*(c.lr-c.eta)) + c.eta
		}
	}
	return c.lr
}
