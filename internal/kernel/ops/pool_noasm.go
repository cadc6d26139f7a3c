//go:build !amd64 || purego

package ops

func maxPool2(src, dst []float32, w, oh, ow int) { maxPool2Generic(src, dst, w, oh, ow) }
