// Package conv computes 2-D convolutions on NCHW float32 tensors, forward and
// backward, for any kernel size, stride, padding and group count (dilation 1).
//
// The *Ref functions are direct loops that define the results; Forward, Plan,
// BackwardData and BackwardFilter must match them. The forward pass picks one
// of five strategies per call (plan.go): a GEMM straight on the image for
// 1x1 stride-1 convolutions, im2col tiles or a whole-image im2col followed by
// sgemm, the blocked direct tile kernels (tile.go, AVX-512 assembly) that
// read a stride-phase copy of the input, or the bcast kernels, vectorised
// over output channels, that read a zero-padded copy (or a 1x1
// convolution's image itself); both fuse the epilogue. The backward passes
// use im2col/col2im and sgemm.
package conv

import (
	"errors"
	"fmt"

	"github.com/dla-go/dla/internal/kernel/sgemm"
	"github.com/dla-go/dla/tensor"
)

// Params describes one convolution: input N x C x H x W, K output channels,
// an R x S kernel, strides, symmetric zero padding and Groups (C and K must be
// multiples of Groups). Weights are K x C/Groups x R x S.
type Params struct {
	N, C, H, W, K, R, S int
	StrideH, StrideW    int
	PadH, PadW          int
	Groups              int
}

// Epilogue is applied to every output value v of channel k:
// v = v*Scale[k] + Shift[k] + Residual[i], then max(v, 0) when ReLU is set.
// Nil Scale, Shift or Residual are skipped. At this level Residual is a whole
// tensor shaped like the output (N x K x OH x OW, i the output's own index);
// ResidualLd is ignored.
type Epilogue = sgemm.Epilogue

// OutH is the output height, floor((H + 2*PadH - R) / StrideH) + 1.
func (p Params) OutH() int { return (p.H+2*p.PadH-p.R)/p.StrideH + 1 }

// OutW is the output width, floor((W + 2*PadW - S) / StrideW) + 1.
func (p Params) OutW() int { return (p.W+2*p.PadW-p.S)/p.StrideW + 1 }

var errParams = errors.New("conv: bad params")

// Validate reports whether p describes a computable convolution whose tensors
// (and the largest workspace) stay within tensor.MaxElements.
func (p Params) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s (%+v)", errParams, fmt.Sprintf(format, args...), p)
	}
	switch {
	case p.N < 1 || p.C < 1 || p.H < 1 || p.W < 1 || p.K < 1 || p.R < 1 || p.S < 1:
		return bad("sizes must be positive")
	case p.StrideH < 1 || p.StrideW < 1:
		return bad("strides must be positive")
	case p.PadH < 0 || p.PadW < 0:
		return bad("negative padding")
	case p.Groups < 1 || p.C%p.Groups != 0 || p.K%p.Groups != 0:
		return bad("groups must divide C and K")
	}
	// Bound each factor before multiplying so no product can overflow.
	for _, d := range []int{p.N, p.C, p.H, p.W, p.K, p.R, p.S, p.StrideH, p.StrideW, p.PadH, p.PadW} {
		if d > tensor.MaxElements {
			return bad("dimension too large")
		}
	}
	if p.H+2*p.PadH < p.R || p.W+2*p.PadW < p.S {
		return bad("kernel larger than the padded input")
	}
	oh, ow := p.OutH(), p.OutW()
	for _, dims := range [][]int{
		{p.N, p.C, p.H, p.W},                  // x
		{p.N, p.K, oh, ow},                    // y
		{p.K, p.C / p.Groups, p.R, p.S},       // w
		{p.C, p.R, p.S, oh, ow},               // one image's im2col matrix
		{p.C, p.H + 2*p.PadH, p.W + 2*p.PadW}, // one padded image (blocked strategy)
	} {
		if _, err := tensor.CheckShape(dims); err != nil {
			return bad("%v", err)
		}
	}
	return nil
}

// geom holds the derived sizes every path uses.
type geom struct {
	Params
	oh, ow, ohow int  // output plane
	hw           int  // input plane
	cg, kg       int  // channels per group, in and out
	kdim         int  // cg*R*S: GEMM depth, rows of one group's im2col matrix
	direct       bool // 1x1, stride 1, no padding: the input plane is the GEMM operand
}

func newGeom(p Params) geom {
	g := geom{Params: p, oh: p.OutH(), ow: p.OutW(), hw: p.H * p.W, cg: p.C / p.Groups, kg: p.K / p.Groups}
	g.ohow = g.oh * g.ow
	g.kdim = g.cg * p.R * p.S
	g.direct = p.R == 1 && p.S == 1 && p.StrideH == 1 && p.StrideW == 1 && p.PadH == 0 && p.PadW == 0
	return g
}

func mustValid(p Params) geom {
	if err := p.Validate(); err != nil {
		panic(err.Error())
	}
	return newGeom(p)
}

// checkLen panics (a programmer error) when a buffer is too short.
func checkLen(name string, buf []float32, n int) {
	if len(buf) < n {
		panic(fmt.Sprintf("conv: %s has %d values, need %d", name, len(buf), n))
	}
}

func checkEpi(epi *Epilogue, n, k, ohow int) {
	if epi == nil {
		return
	}
	if epi.Scale != nil {
		checkLen("epilogue scale", epi.Scale, k)
	}
	if epi.Shift != nil {
		checkLen("epilogue shift", epi.Shift, k)
	}
	if epi.Residual != nil {
		checkLen("epilogue residual", epi.Residual, n*k*ohow)
	}
}
