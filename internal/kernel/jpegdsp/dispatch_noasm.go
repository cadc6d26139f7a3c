//go:build !amd64 || purego

package jpegdsp

func bestKernels() *kernels { return generic }

// tiers lists the kernel sets this build and CPU can run, best first.
func tiers() []*kernels { return nil }
