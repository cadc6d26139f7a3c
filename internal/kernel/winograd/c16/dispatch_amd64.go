//go:build !purego

package c16

import "golang.org/x/sys/cpu"

//go:generate go run -C _asm . -out ../c16_amd64.s -stubs ../c16_amd64.go -pkg c16

// avx512 and avx2 select the assembly kernels (x/sys/cpu honours
// GODEBUG=cpu.avx512f=off); without either the Go definitions run.
var (
	avx512 = cpu.X86.HasAVX512F
	avx2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

// Fast reports whether assembly kernels run; the Go definitions are far
// slower than a direct convolution.
var Fast = avx512 || avx2

func input(src []float32, pitch int, v []float32, n int) {
	switch {
	case avx512:
		inputAVX512(&src[0], pitch, &v[0], n)
	case avx2:
		inputAVX2(&src[0], pitch, &v[0], n)
	default:
		inputGeneric(src, pitch, v, n)
	}
}

func multiply(v, u []float32) {
	switch {
	case avx512:
		multiplyAVX512(&v[0], &u[0])
	case avx2:
		multiplyAVX2(&v[0], &u[0])
	default:
		multiplyGeneric(v, u)
	}
}

func output(v []float32, n int, dst []float32, pitch int, shift []float32, floor float32) {
	switch {
	case avx512:
		outputAVX512(&v[0], n, &dst[0], pitch, &shift[0], floor)
	case avx2:
		outputAVX2(&v[0], n, &dst[0], pitch, &shift[0], floor)
	default:
		outputGeneric(v, n, dst, pitch, shift, floor)
	}
}
