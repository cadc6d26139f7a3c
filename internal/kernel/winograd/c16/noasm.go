//go:build !amd64 || purego

package c16

// Fast is false: the Go definitions run, far slower than a direct convolution.
var Fast = false

func input(src []float32, pitch int, v []float32, n int) { inputGeneric(src, pitch, v, n) }

func multiply(v, u []float32) { multiplyGeneric(v, u) }

func output(v []float32, n int, dst []float32, pitch int, shift []float32, floor float32) {
	outputGeneric(v, n, dst, pitch, shift, floor)
}
