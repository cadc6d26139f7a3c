package agree

import (
	"testing"

	"github.com/dla-go/dla"
)

func TestPredictions(t *testing.T) {
	ref := []dla.Prediction{{Class: 3, Score: 0.5}, {Class: 1, Score: 0.49995}, {Class: 7, Score: 0.00005}}
	for _, c := range []struct {
		name string
		got  []dla.Prediction
		ok   bool
	}{
		{"same", []dla.Prediction{{Class: 3, Score: 0.50002}, {Class: 1, Score: 0.49993}}, true},
		{"near tie swapped", []dla.Prediction{{Class: 1, Score: 0.49997}, {Class: 3, Score: 0.49999}}, true},
		{"score off", []dla.Prediction{{Class: 3, Score: 0.6}}, false},
		{"unknown class", []dla.Prediction{{Class: 3, Score: 0.5}, {Class: 9, Score: 0}}, false},
		{"empty", nil, false},
	} {
		if err := Predictions(ref, c.got, 1e-4); (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	clear := []dla.Prediction{{Class: 3, Score: 0.9}, {Class: 1, Score: 0.1}}
	if err := Predictions(clear, []dla.Prediction{{Class: 1, Score: 0.1}, {Class: 3, Score: 0.9}}, 1e-4); err == nil {
		t.Error("a different top-1 with a clear margin passed")
	}
}
