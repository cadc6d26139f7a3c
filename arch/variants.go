// Package arch defines the ten DLA ImageNet classifiers (Yu et al., "Deep Layer
// Aggregation", arXiv:1707.06484) as data over one Tree/Root builder. The graph
// it builds names every parameter exactly as timm's state dict does.
package arch

import (
	"fmt"
	"sort"
	"strings"
)

// Block is the residual block a variant's trees are made of.
type Block int

const (
	Basic      Block = iota // two 3x3 convolutions (DLA34)
	Bottleneck              // 1x1 reduce, 3x3 (grouped for -X), 1x1 expand
)

// Variant is one row of the model table.
type Variant struct {
	Name         string // timm spelling, e.g. "dla46x_c"
	PaddleName   string // PaddleClas spelling, e.g. "DLA46x_c"
	Levels       [6]int
	Channels     [6]int
	Block        Block
	Cardinality  int // groups of the bottleneck's 3x3 convolution
	BaseWidth    int
	ResidualRoot bool // aggregation nodes add their first input

	Params int64   // trainable parameters (timm's param_count), asserted by tests
	GMACs  float64 // conv+fc multiply-accumulates at 224x224, in billions

	// Reported ImageNet-1k top-1 at 224 (dla-reference.md section 7).
	PaddleTop1, TimmTop1 float64
}

var small = [6]int{16, 32, 64, 64, 128, 256}
var wide = [6]int{16, 32, 128, 256, 512, 1024}

// Variants lists the ten models in the order of the PaddleClas page.
var Variants = []Variant{
	{"dla34", "DLA34", [6]int{1, 1, 1, 2, 2, 1}, [6]int{16, 32, 64, 128, 256, 512}, Basic, 1, 64, false, 15742104, 3.060, 76.03, 74.632},
	{"dla46_c", "DLA46_c", [6]int{1, 1, 1, 2, 2, 1}, small, Bottleneck, 1, 64, false, 1301400, 0.574, 63.21, 64.880},
	{"dla46x_c", "DLA46x_c", [6]int{1, 1, 1, 2, 2, 1}, small, Bottleneck, 32, 4, false, 1068440, 0.533, 64.36, 66.008},
	{"dla60", "DLA60", [6]int{1, 1, 1, 2, 3, 1}, wide, Bottleneck, 1, 64, false, 22036632, 4.236, 76.10, 77.036},
	{"dla60x", "DLA60x", [6]int{1, 1, 1, 2, 3, 1}, wide, Bottleneck, 32, 4, false, 17352344, 3.517, 77.53, 78.234},
	{"dla60x_c", "DLA60x_c", [6]int{1, 1, 1, 2, 3, 1}, small, Bottleneck, 32, 4, false, 1319832, 0.581, 66.45, 67.928},
	{"dla102", "DLA102", [6]int{1, 1, 1, 3, 4, 1}, wide, Bottleneck, 1, 64, true, 33268888, 7.165, 78.93, 78.016},
	{"dla102x", "DLA102x", [6]int{1, 1, 1, 3, 4, 1}, wide, Bottleneck, 32, 4, true, 26309272, 5.848, 78.10, 78.516},
	{"dla102x2", "DLA102x2", [6]int{1, 1, 1, 3, 4, 1}, wide, Bottleneck, 64, 4, true, 41282200, 9.284, 78.85, 79.448},
	{"dla169", "DLA169", [6]int{1, 1, 2, 3, 5, 1}, wide, Bottleneck, 1, 64, true, 53389720, 11.558, 78.09, 78.702},
}

// Lookup finds a variant by either spelling ("dla46x_c", "DLA46x_c", "dla46x-c").
func Lookup(name string) (Variant, error) {
	key := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "-", "_")
	for _, v := range Variants {
		if v.Name == key {
			return v, nil
		}
	}
	return Variant{}, fmt.Errorf("unknown model %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Names returns the timm spellings of all variants.
func Names() []string {
	out := make([]string, len(Variants))
	for i, v := range Variants {
		out[i] = v.Name
	}
	sort.Strings(out)
	return out
}

// midWidth is the bottleneck's inner width: floor(out*baseWidth/64)*cardinality/2
// (timm and PaddleClas; equal to the official code for all ten variants).
func (v Variant) midWidth(out int) int {
	return out * v.BaseWidth / 64 * v.Cardinality / 2
}
