//go:build !purego

package c16

import "golang.org/x/sys/cpu"

//go:generate go run -C _asm . -out ../c16_amd64.s -stubs ../c16_amd64.go -pkg c16

// Fast reports whether the AVX-512 kernels run (x/sys/cpu honours
// GODEBUG=cpu.avx512f=off); without them the Go definitions do, far slower
// than a direct convolution.
var Fast = cpu.X86.HasAVX512F

func input(src []float32, pitch int, v []float32, n int) {
	if Fast {
		inputAVX512(&src[0], pitch, &v[0], n)
		return
	}
	inputGeneric(src, pitch, v, n)
}

func multiply(v, u []float32) {
	if Fast {
		multiplyAVX512(&v[0], &u[0])
		return
	}
	multiplyGeneric(v, u)
}

func output(v []float32, n int, dst []float32, pitch int, shift []float32, floor float32) {
	if Fast {
		outputAVX512(&v[0], n, &dst[0], pitch, &shift[0], floor)
		return
	}
	outputGeneric(v, n, dst, pitch, shift, floor)
}
