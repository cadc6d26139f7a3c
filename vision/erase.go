package vision

import (
	"fmt"
	"math"
)

// RandErase holds PaddleClas RandomErasing's parameters (Zhong et al.), for
// a normalised CHW image: with probability Epsilon, up to Attempt draws of
// a rectangle covering a fraction in [SL, SH] of the area with an aspect
// ratio (height/width) in [R1, 1/R1] (log-uniform with LogAspect); the
// first that fits inside is filled with Mean per channel (Mode "const"), a
// standard normal per channel ("rand") or per value ("pixel").
type RandErase struct {
	Epsilon, SL, SH, R1 float64
	Attempt             int
	LogAspect           bool
	Mean                [3]float32
	Mode                string
}

// Validate reports parameters no draw can use.
func (e RandErase) Validate() error {
	ok := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case !ok(e.Epsilon) || !ok(e.SL) || !ok(e.SH) || !ok(e.R1):
		return fmt.Errorf("vision: non-finite parameter in %+v", e)
	case e.SL < 0 || e.SH < 0:
		return fmt.Errorf("vision: area fractions sl=%v, sh=%v must not be negative", e.SL, e.SH)
	case e.R1 <= 0:
		return fmt.Errorf("vision: r1=%v must be positive", e.R1)
	case e.Attempt < 0 || e.Attempt > 1000:
		return fmt.Errorf("vision: attempt=%d is outside 0..1000", e.Attempt)
	case e.Mode != "const" && e.Mode != "rand" && e.Mode != "pixel":
		return fmt.Errorf(`vision: mode %q (want "const", "rand" or "pixel")`, e.Mode)
	}
	return nil
}

// Apply erases one rectangle of the w x h CHW image img, drawing from r in
// PaddleClas's order: the coin, then per attempt the area and the aspect
// ratio, and for the rectangle that fits its top and left edges.
func (e RandErase) Apply(img []float32, w, h int, r Rand) {
	if r.Float64() > e.Epsilon {
		return
	}
	area := float64(w * h)
	lo, hi := e.R1, 1/e.R1
	if e.LogAspect {
		lo, hi = math.Log(lo), math.Log(hi)
	}
	for range e.Attempt {
		target := uniform(e.SL, e.SH, r.Float64()) * area
		ar := uniform(lo, hi, r.Float64())
		if e.LogAspect {
			ar = math.Exp(ar)
		}
		eh := int(math.RoundToEven(math.Sqrt(target * ar)))
		ew := int(math.RoundToEven(math.Sqrt(target / ar)))
		if ew >= w || eh >= h {
			continue
		}
		top, left := r.IntN(h-eh+1), r.IntN(w-ew+1)
		var perChannel [3]float32
		for c := range perChannel {
			switch e.Mode {
			case "const":
				perChannel[c] = e.Mean[c]
			case "rand":
				perChannel[c] = float32(normal(r))
			}
		}
		for c := range 3 {
			for y := top; y < top+eh; y++ {
				row := img[(c*h+y)*w+left : (c*h+y)*w+left+ew]
				for x := range row {
					if e.Mode == "pixel" {
						row[x] = float32(normal(r))
					} else {
						row[x] = perChannel[c]
					}
				}
			}
		}
		return
	}
}

// normal draws a standard normal value by the Box-Muller transform.
func normal(r Rand) float64 {
	u := 1 - r.Float64() // in (0, 1], so the logarithm is finite
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*r.Float64())
}
