//go:build !unix

package vision

// processCPU is unknown here; the cpu-ms/img metric then reads zero.
func processCPU() float64 { return 0 }
