//go:build !purego

package ops

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// asAVX2Machine makes the pool and batch-norm passes dispatch as on a CPU
// with AVX2 and FMA but no AVX-512 until the test ends, so that AVX-512
// machines test the AVX2 kernels too; it skips the test where the CPU lacks
// them, and where the package dispatches so already.
func asAVX2Machine(t *testing.T) {
	t.Helper()
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("the AVX2 kernels need AVX2 and FMA")
	}
	if poolAVX2 && !poolAVX512 {
		t.Skip("this CPU runs the AVX2 kernels: the test without the suffix covered them")
	}
	avx512, avx2, planes := poolAVX512, poolAVX2, fastPlanes
	poolAVX512, poolAVX2, fastPlanes = false, true, avx2Planes.planes()
	t.Cleanup(func() { poolAVX512, poolAVX2, fastPlanes = avx512, avx2, planes })
}

// TestMaxPoolMatchesRefAVX2 is TestMaxPoolMatchesRef on maxPool2AVX2.
func TestMaxPoolMatchesRefAVX2(t *testing.T) {
	asAVX2Machine(t)
	TestMaxPoolMatchesRef(t)
}

// TestMaxPoolNaNAVX2 is TestMaxPoolTiesAndNaN and TestMaxPoolNaNLanes on
// maxPool2AVX2.
func TestMaxPoolNaNAVX2(t *testing.T) {
	asAVX2Machine(t)
	TestMaxPoolTiesAndNaN(t)
	TestMaxPoolNaNLanes(t)
}

// TestBatchNormAVX2 is the batch-norm tests on the AVX2 kernels.
func TestBatchNormAVX2(t *testing.T) {
	asAVX2Machine(t)
	TestBatchNormTrainMatchesRef(t)
	TestBatchNormReLUFused(t)
	TestBatchNormReLUMatchesRef(t)
	TestBatchNormGradient(t)
}
