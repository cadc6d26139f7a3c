//go:build !purego

package jpegdsp

import "golang.org/x/sys/cpu"

//go:generate go run -C _asm . -out ../jpegdsp_amd64.s -stubs ../jpegdsp_amd64.go -pkg jpegdsp

var (
	avx2Kernels = &kernels{
		name: "avx2", idct: idctAVX2, h2v2: h2v2AVX2, h2v1: h2v1AVX2, ycc: yccAVX2, step: 16,
		transpose: transposeAVX2, lanes: 8,
	}
	// The AVX-512 upsamplers take 32 samples a step, the conversion 16:
	// the wrappers use the larger step for both.
	avx512Kernels = &kernels{
		name: "avx512", idct: idctAVX512, h2v2: h2v2AVX512, h2v1: h2v1AVX512, ycc: yccAVX512, step: 32,
		transpose: transposeAVX512, lanes: 16,
	}
)

// hasAVX512 covers every instruction the AVX-512 kernels use: byte and word
// lanes (BW), 256-bit EVEX forms (VL) and the byte permute (VBMI).
// x/sys/cpu honours GODEBUG=cpu.avx512f=off.
func hasAVX512() bool {
	return cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VBMI && cpu.X86.HasAVX2
}

func tiers() []*kernels {
	var ts []*kernels
	if hasAVX512() {
		ts = append(ts, avx512Kernels)
	}
	if cpu.X86.HasAVX2 {
		ts = append(ts, avx2Kernels)
	}
	return ts
}

func bestKernels() *kernels {
	if ts := tiers(); len(ts) > 0 {
		return ts[0]
	}
	return generic
}
