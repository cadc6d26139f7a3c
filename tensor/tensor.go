// Package tensor holds the dense float32 tensor used at every API boundary of
// the engine: a shape and a row-major (C-order) slice, NCHW for images.
package tensor

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// MaxElements caps the size of any tensor built from untrusted input
// (a file header, a request) before anything is allocated: 1<<31 floats is 8 GiB,
// far above every DLA activation or weight. On 32-bit platforms it is the
// quarter of the largest int (2 GiB of floats), so that sums of a few sizes
// cannot overflow either.
const MaxElements = min(1<<31, math.MaxInt>>2)

// Tensor is a dense row-major float32 array.
type Tensor struct {
	Shape []int
	Data  []float32
}

// New returns a zeroed tensor of the given shape. It panics on a negative
// dimension (a programmer error); untrusted shapes go through CheckShape first.
func New(shape ...int) *Tensor {
	n, err := CheckShape(shape)
	if err != nil {
		panic("tensor: " + err.Error())
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// FromData wraps data (not copied) with a shape that must match its length.
func FromData(data []float32, shape ...int) (*Tensor, error) {
	n, err := CheckShape(shape)
	if err != nil {
		return nil, err
	}
	if n != len(data) {
		return nil, fmt.Errorf("tensor: shape %v needs %d values, have %d", shape, n, len(data))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}, nil
}

// CheckShape returns the element count of shape, or an error when a dimension is
// negative or the count exceeds MaxElements (checked without overflow).
func CheckShape(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d != 0 && n > MaxElements/d {
			return 0, fmt.Errorf("shape %v has more than %d elements", shape, MaxElements)
		}
		n *= d
	}
	return n, nil
}

// Numel is the number of elements.
func (t *Tensor) Numel() int { return len(t.Data) }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b []int) bool { return slices.Equal(a, b) }

// ShapeString formats a shape as [1 3 224 224].
func ShapeString(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
