//go:build !amd64 || purego

package row7

// Fast is false: the Go definitions run, far slower than a direct convolution.
var Fast = false

func input(row, t []float32, n int) { inputGeneric(row, t, n) }

func multiply(n int, t []float32, tChan, c int, u, y []float32, yRow int, shift []float32, floor float32) {
	multiplyGeneric(n, t, tChan, c, u, y, yRow, shift, floor)
}
