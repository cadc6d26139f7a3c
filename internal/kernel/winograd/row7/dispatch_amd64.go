//go:build !purego

package row7

import "golang.org/x/sys/cpu"

//go:generate go run -C _asm . -out ../row7_amd64.s -stubs ../row7_amd64.go -pkg row7

// avx512 and avx2 select the assembly kernels (x/sys/cpu honours
// GODEBUG=cpu.avx512f=off); without either the Go definitions run.
var (
	avx512 = cpu.X86.HasAVX512F
	avx2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

// Fast reports whether assembly kernels run; the Go definitions are far
// slower than a direct convolution.
var Fast = avx512 || avx2

func input(row, t []float32, n int) {
	switch {
	case avx512:
		inputAVX512(&row[0], &t[0], &bt[0], n)
	case avx2:
		inputAVX2(&row[0], &t[0], &bt[0], n)
	default:
		inputGeneric(row, t, n)
	}
}

func multiply(n int, t []float32, tChan, c int, u, y []float32, yRow int, shift []float32, floor float32) {
	switch {
	case avx512:
		multiplyAVX512(n, &t[0], tChan, c, &u[0], &y[0], yRow, &shift[0], floor)
	case avx2:
		multiplyAVX2(n, &t[0], tChan, c, &u[0], &y[0], yRow, &shift[0], floor)
	default:
		multiplyGeneric(n, t, tChan, c, u, y, yRow, shift, floor)
	}
}
