// Package ops holds the non-convolution layers of the engine on NCHW float32
// tensors, forward and backward: batch normalisation, ReLU, element-wise add,
// max and global-average pooling, channel concatenation and the softmax
// cross-entropy loss.
//
// Shapes are passed as plain sizes (n images, c channels, hw = H*W); a
// function panics when a buffer is shorter than its shape needs, which is a
// programmer error. The parallel versions split over channels or element
// ranges with parallel.For; the *Ref twins are the serial definitions they
// are tested against.
package ops

import (
	"fmt"

	"github.com/dla-go/dla/internal/kernel/parallel"
)

// grain is the element count below which splitting a loop over workers costs
// more than it saves.
const grain = 16 << 10

func checkLen(name string, buf []float32, n int) {
	if len(buf) < n {
		panic(fmt.Sprintf("ops: %s has %d values, need %d", name, len(buf), n))
	}
}

func checkSizes(sizes ...int) {
	for _, s := range sizes {
		if s < 0 {
			panic("ops: negative size")
		}
	}
}

// forRange runs fn over [0, n) in parallel chunks of at least grain elements.
func forRange(n int, fn func(lo, hi int)) {
	parallel.For(n, max(grain, (n+parallel.Workers()-1)/parallel.Workers()), fn)
}

// forChannels runs fn over channel indices [0, c) when each channel holds
// per elements, in chunks that keep at least grain elements per task.
func forChannels(c, per int, fn func(lo, hi int)) {
	parallel.For(c, max(1, grain/max(per, 1)), fn)
}
