//go:build !purego

package ops

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// asAVX2Machine makes maxPool2 dispatch as on a CPU with AVX2 but no
// AVX-512 until the test ends, so that AVX-512 machines test the AVX2
// kernel too; it skips the test where the CPU lacks AVX2.
func asAVX2Machine(t *testing.T) {
	t.Helper()
	if !cpu.X86.HasAVX2 {
		t.Skip("maxPool2AVX2 needs AVX2")
	}
	avx512, avx2 := poolAVX512, poolAVX2
	poolAVX512, poolAVX2 = false, true
	t.Cleanup(func() { poolAVX512, poolAVX2 = avx512, avx2 })
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
