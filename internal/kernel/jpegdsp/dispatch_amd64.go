//go:build !purego

package jpegdsp

func bestKernels() *kernels { return generic }

func tiers() []*kernels { return nil }
