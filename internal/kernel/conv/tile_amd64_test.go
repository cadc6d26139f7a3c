//go:build !purego

package conv

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// asAVX2Machine makes the package dispatch as on a CPU with AVX2 and FMA but
// no AVX-512 until the test ends, so that AVX-512 machines test the AVX2
// bcast pieces too; it skips the test where the CPU lacks them, and where
// the package dispatches so already (the test without the suffix ran it).
func asAVX2Machine(t *testing.T) {
	t.Helper()
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("the AVX2 bcast pieces need AVX2 and FMA")
	}
	if haveAVX2 {
		t.Skip("this CPU runs the AVX2 pieces: the test without the suffix covered them")
	}
	tile, avx2 := haveTile, haveAVX2
	haveTile, haveAVX2 = false, true
	t.Cleanup(func() { haveTile, haveAVX2 = tile, avx2 })
}

// TestTileKernelAVX2 is TestTileKernel on the AVX2 pieces.
func TestTileKernelAVX2(t *testing.T) {
	asAVX2Machine(t)
	TestTileKernel(t)
}

// TestSplit2AVX2 is TestSplit2 on split2AVX2.
func TestSplit2AVX2(t *testing.T) {
	asAVX2Machine(t)
	TestSplit2(t)
}

// TestBcastKernelAVX2 is TestBcastKernel on the AVX2 pieces: every piece
// width and step, residual or not, both floors.
func TestBcastKernelAVX2(t *testing.T) {
	asAVX2Machine(t)
	TestBcastKernel(t)
}

// TestPlanEpiloguesAVX2 runs planShapes through every strategy as an AVX2
// machine dispatches them: the bcast strategy on the AVX2 pieces, whose
// choice (useBcast) differs from AVX-512's, and the blocked kernels' Go
// definitions, which the planner then never picks.
func TestPlanEpiloguesAVX2(t *testing.T) {
	asAVX2Machine(t)
	TestPlanEpilogues(t)
}

// TestForwardMatchesRefAVX2 is TestForwardMatchesRef with the AVX2 pieces.
func TestForwardMatchesRefAVX2(t *testing.T) {
	asAVX2Machine(t)
	TestForwardMatchesRef(t)
}

// TestStemMatchesRefAVX2 is TestStemMatchesRef as an AVX2 machine runs it
// (its 16-channel bcast pieces for the last layer).
func TestStemMatchesRefAVX2(t *testing.T) {
	asAVX2Machine(t)
	TestStemMatchesRef(t)
}
