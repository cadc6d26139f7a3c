package nn

import (
	"fmt"
	"testing"

	"github.com/dla-go/dla/internal/kernel/conv"
	"github.com/dla-go/dla/internal/kernel/kerneltest"
)

// Merging thin groups into block-diagonal wider ones is the same convolution.
func TestRegroupIsTheSameConvolution(t *testing.T) {
	for _, c := range []struct{ ch, groups, stride int }{
		{64, 32, 1}, {64, 32, 2}, {6, 6, 1}, {12, 4, 2}, {9, 3, 1}, {10, 5, 1}, {64, 64, 1}, {32, 8, 1},
	} {
		p := conv.Params{N: 2, C: c.ch, H: 9, W: 11, K: c.ch, R: 3, S: 3, StrideH: c.stride, StrideW: c.stride,
			PadH: 1, PadW: 1, Groups: c.groups}
		w := kerneltest.Rand(p.K*p.C/p.Groups*9, 1)
		x := kerneltest.Rand(p.N*p.C*p.H*p.W, 2)
		want := make([]float32, p.N*p.K*p.OutH()*p.OutW())
		conv.ForwardRef(p, x, w, want, nil)
		rp, rw := regroup(p, w)
		if c.ch == 64 && c.groups == 32 && rp.Groups != 16 {
			t.Errorf("64 channels in 32 groups became %d groups, want 16", rp.Groups)
		}
		got := make([]float32, len(want))
		conv.ForwardRef(rp, x, rw, got, nil)
		kerneltest.CheckNMSE(t, fmt.Sprintf("%+v -> %d groups", c, rp.Groups), got, want, 1e-12)
	}
}
