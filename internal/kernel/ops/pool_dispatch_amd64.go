//go:build !purego

package ops

import "golang.org/x/sys/cpu"

//go:generate go run -C _asm . -out ../ops_amd64.s -stubs ../ops_amd64.go -pkg ops

// maxPool2 runs maxPool2AVX512 where the CPU has AVX-512 (x/sys/cpu honours
// GODEBUG=cpu.avx512f=off), else maxPool2Generic.
func maxPool2(src, dst []float32, w, oh, ow int) {
	if !cpu.X86.HasAVX512F {
		maxPool2Generic(src, dst, w, oh, ow)
		return
	}
	if oh < 1 || ow < 1 {
		return
	}
	_, _ = src[(2*oh-1)*w+2*ow-1], dst[oh*ow-1]
	maxPool2AVX512(&dst[0], &src[0], w, oh, ow)
}
