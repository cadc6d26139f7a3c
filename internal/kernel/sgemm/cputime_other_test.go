//go:build !unix

package sgemm

// processCPU is unknown here; the GFLOP/cpu-s metric is then left out.
func processCPU() float64 { return 0 }
