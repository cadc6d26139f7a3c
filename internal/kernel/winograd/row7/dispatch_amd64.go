//go:build !purego

package row7

import "golang.org/x/sys/cpu"

//go:generate go run -C _asm . -out ../row7_amd64.s -stubs ../row7_amd64.go -pkg row7

// Fast reports whether the AVX-512 kernels run (x/sys/cpu honours
// GODEBUG=cpu.avx512f=off); without them the Go definitions do, far slower
// than a direct convolution.
var Fast = cpu.X86.HasAVX512F

func input(row, t []float32, n int) {
	if Fast {
		inputAVX512(&row[0], &t[0], &bt[0], n)
		return
	}
	inputGeneric(row, t, n)
}

func multiply(n int, t []float32, tChan, c int, u, y []float32, yRow int, shift []float32, floor float32) {
	if Fast {
		multiplyAVX512(n, &t[0], tChan, c, &u[0], &y[0], yRow, &shift[0], floor)
		return
	}
	multiplyGeneric(n, t, tChan, c, u, y, yRow, shift, floor)
}
