// Package agree checks that two builds of the engine classify an image
// alike: another platform rounds differently (arm64 fuses multiply-adds, the
// WebAssembly build has no vector kernels), so scores are compared with a
// tolerance and the top-1 class may differ only where the reference's two
// best scores are within it.
package agree

import (
	"fmt"
	"math"

	"github.com/dla-go/dla"
)

// Predictions reports how got, a top-k list, disagrees with want, the
// reference's list for the same image, which must hold every class got
// holds (ask the reference for more classes than got, or for all of them).
func Predictions(want, got []dla.Prediction, tol float64) error {
	if len(got) == 0 || len(want) == 0 {
		return fmt.Errorf("empty predictions (reference %d, here %d)", len(want), len(got))
	}
	ref := map[int]float32{}
	for _, p := range want {
		ref[p.Class] = p.Score
	}
	for _, p := range got {
		w, ok := ref[p.Class]
		if !ok {
			return fmt.Errorf("class %d (%s, score %.6f) is not in the reference's top %d", p.Class, p.Label, p.Score, len(want))
		}
		if d := math.Abs(float64(p.Score) - float64(w)); d > tol {
			return fmt.Errorf("class %d (%s): score %.6f, reference %.6f (differs by %.2g > %.2g)", p.Class, p.Label, p.Score, w, d, tol)
		}
	}
	if top := got[0]; top.Class != want[0].Class && float64(want[0].Score-ref[top.Class]) > tol {
		return fmt.Errorf("top-1 is %d (%s), reference %d (%s)", top.Class, top.Label, want[0].Class, want[0].Label)
	}
	return nil
}
