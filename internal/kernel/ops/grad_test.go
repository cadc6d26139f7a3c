package ops

import (
	"fmt"
	"math"
	"testing"

	"github.com/dla-go/dla/internal/kernel/kerneltest"
)

// The backward passes are checked against central differences of the scalar
// loss sum(f(v)*g) (g random), with forward functions written here in
// float64. The float32 analytic gradient must agree to 1e-4 relative to its
// largest element; the differences themselves (step h, float64) are accurate
// to about 1e-8 on these smooth or piecewise-linear functions.

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func dot(y, g []float64) (s float64) {
	for i := range y {
		s += y[i] * g[i]
	}
	return s
}

func bnTrain64(n, c, hw int, x, gamma, beta []float64) []float64 {
	y := make([]float64, len(x))
	for ch := range c {
		var sum, sq float64
		for img := range n {
			for i := range hw {
				sum += x[(img*c+ch)*hw+i]
			}
		}
		m := sum / float64(n*hw)
		for img := range n {
			for i := range hw {
				d := x[(img*c+ch)*hw+i] - m
				sq += d * d
			}
		}
		is := 1 / math.Sqrt(sq/float64(n*hw)+1e-5)
		for img := range n {
			for i := range hw {
				j := (img*c+ch)*hw + i
				y[j] = (x[j]-m)*is*gamma[ch] + beta[ch]
			}
		}
	}
	return y
}

func TestBatchNormGradient(t *testing.T) {
	for _, s := range []shape{{2, 3, 2, 3}, {1, 2, 3, 1}, {3, 1, 1, 1}} {
		n, c, hw := s.n, s.c, s.h*s.w
		x, gamma, beta := kerneltest.Rand(n*c*hw, 1), kerneltest.Rand(c, 2), kerneltest.Rand(c, 3)
		g := kerneltest.Rand(n*c*hw, 4)
		y, m, is := make([]float32, len(x)), make([]float32, c), make([]float32, c)
		BatchNormTrain(n, c, hw, x, gamma, beta, y, m, is, make([]float32, c), make([]float32, c), BNMomentum, 1e-5)
		dx, dg, db := make([]float32, len(x)), make([]float32, c), make([]float32, c)
		BatchNormBackward(n, c, hw, x, g, gamma, m, is, dx, dg, db)
		x64, g64, gm64, bt64 := to64(x), to64(g), to64(gamma), to64(beta)
		name := fmt.Sprintf("%+v", s)
		kerneltest.GradCheck(t, "dx "+name, 1e-4, x64, func(v []float64) float64 { return dot(bnTrain64(n, c, hw, v, gm64, bt64), g64) }, dx)
		kerneltest.GradCheck(t, "dgamma "+name, 1e-4, gm64, func(v []float64) float64 { return dot(bnTrain64(n, c, hw, x64, v, bt64), g64) }, dg)
		kerneltest.GradCheck(t, "dbeta "+name, 1e-4, bt64, func(v []float64) float64 { return dot(bnTrain64(n, c, hw, x64, gm64, v), g64) }, db)
	}
}

func TestPoolingAndReLUGradients(t *testing.T) {
	n, c, h, w := 2, 3, 5, 7
	x := kerneltest.Rand(n*c*h*w, 1)
	x64 := to64(x)
	for _, k := range []int{2, 3} {
		oh, ow := h/k, w/k
		g := kerneltest.Rand(n*c*oh*ow, 2)
		dx := make([]float32, len(x))
		MaxPoolBackward(n, c, h, w, k, x, g, dx)
		maxPool64 := func(v []float64) float64 {
			var s float64
			for p := range n * c {
				for i := range oh {
					for j := range ow {
						m := math.Inf(-1)
						for r := range k {
							for q := range k {
								m = math.Max(m, v[p*h*w+(i*k+r)*w+j*k+q])
							}
						}
						s += m * float64(g[(p*oh+i)*ow+j])
					}
				}
			}
			return s
		}
		kerneltest.GradCheck(t, fmt.Sprintf("maxpool k=%d", k), 1e-6, x64, maxPool64, dx)
	}
	g := kerneltest.Rand(n*c, 3)
	dx := make([]float32, len(x))
	GlobalAvgPoolBackward(n, c, h*w, g, dx)
	kerneltest.GradCheck(t, "global average pool", 1e-3, x64, func(v []float64) float64 {
		var s float64
		for i := range v {
			s += v[i] / float64(h*w) * float64(g[i/(h*w)])
		}
		return s
	}, dx)
	gr := kerneltest.Rand(len(x), 4)
	y := make([]float32, len(x))
	ReLU(x, y)
	ReLUBackward(y, gr, dx)
	kerneltest.GradCheck(t, "relu", 1e-6, x64, func(v []float64) float64 {
		var s float64
		for i := range v {
			s += math.Max(v[i], 0) * float64(gr[i])
		}
		return s
	}, dx)
}

func TestSoftmaxCrossEntropyGradient(t *testing.T) {
	n, classes := 4, 5
	logits := kerneltest.Rand(n*classes, 1)
	labels := []int{4, 0, 2, 2}
	for _, eps := range []float64{0, 0.1} {
		d := make([]float32, len(logits))
		if _, err := SoftmaxCrossEntropy(n, classes, logits, labels, eps, d); err != nil {
			t.Fatal(err)
		}
		kerneltest.GradCheck(t, fmt.Sprintf("cross entropy, smoothing %g", eps), 1e-4, to64(logits), func(v []float64) float64 {
			var loss float64
			for i := range n {
				row := v[i*classes : (i+1)*classes]
				var s float64
				for _, z := range row {
					s += math.Exp(z)
				}
				for j, z := range row {
					target := eps / float64(classes)
					if j == labels[i] {
						target += 1 - eps
					}
					loss += target * (math.Log(s) - z) / float64(n)
				}
			}
			return loss
		}, d)
	}
}

func TestConcatAndAddGradients(t *testing.T) {
	n, hw := 2, 3
	chans := []int{2, 1}
	a, b := kerneltest.Rand(n*2*hw, 1), kerneltest.Rand(n*1*hw, 2)
	g := kerneltest.Rand(n*3*hw, 3)
	da, db := make([]float32, len(a)), make([]float32, len(b))
	ConcatBackward(n, hw, g, chans, [][]float32{da, db})
	a64, b64, g64 := to64(a), to64(b), to64(g)
	concat64 := func(a, b []float64) float64 {
		y := make([]float32, len(g))
		Concat(n, hw, [][]float32{toF32(a), toF32(b)}, chans, y)
		return dot(to64(y), g64)
	}
	kerneltest.GradCheck(t, "concat input 0", 1e-3, a64, func(v []float64) float64 { return concat64(v, b64) }, da)
	kerneltest.GradCheck(t, "concat input 1", 1e-3, b64, func(v []float64) float64 { return concat64(a64, v) }, db)
	// Add passes its gradient through to both inputs unchanged.
	ga := to64(g[:len(a)])
	kerneltest.GradCheck(t, "add", 1e-3, a64, func(v []float64) float64 {
		s := make([]float64, len(v))
		for i := range v {
			s[i] = v[i] + float64(a[i])
		}
		return dot(s, ga)
	}, g[:len(a)])
}

// toF32 rounds to float32; the concat check only moves values, so the step
// (1e-3, exactly representable in relative terms well above float32 eps)
// survives the rounding to within the tolerance.
func toF32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
