//go:build !purego

package ops

import "golang.org/x/sys/cpu"

//go:generate go run -C _asm . -out ../ops_amd64.s -stubs ../ops_amd64.go -pkg ops

// poolAVX512 and poolAVX2 say which maxPool2 kernel the CPU runs (x/sys/cpu
// honours GODEBUG=cpu.avx512f=off); tests flip them to run the AVX2 one on
// AVX-512 machines too.
var (
	poolAVX512 = cpu.X86.HasAVX512F
	poolAVX2   = cpu.X86.HasAVX2
)

// maxPool2 runs maxPool2AVX512 or maxPool2AVX2, else maxPool2Generic.
func maxPool2(src, dst []float32, w, oh, ow int) {
	if !poolAVX512 && !poolAVX2 {
		maxPool2Generic(src, dst, w, oh, ow)
		return
	}
	if oh < 1 || ow < 1 {
		return
	}
	_, _ = src[(2*oh-1)*w+2*ow-1], dst[oh*ow-1]
	if poolAVX512 {
		maxPool2AVX512(&dst[0], &src[0], w, oh, ow)
	} else {
		maxPool2AVX2(&dst[0], &src[0], w, oh, ow)
	}
}
