//go:build !purego

package sgemm

import "golang.org/x/sys/cpu"

// neonParams: an 8x12 tile keeps 24 of the 32 vector registers as
// accumulators, with two for the column of A and three for the row of B, so
// that each step of k is 24 FMAs for five 16-byte loads (docs/performance.md
// has the throughput this gives on Cortex-A72 and Neoverse cores).
var neonParams = params{
	MR: 8, NR: 12,
	KC: 256, // A panel 8 KiB of a 32 KiB (A72) or 64 KiB (Neoverse) L1
	MC: 384,
	NC: 384, // B block 384 KiB: fits a 512 KiB L2 (the smallest A72 configuration)
}

// asmVariants lists the NEON tier where the CPU has Advanced SIMD (every
// arm64 CPU Go runs on; GODEBUG=cpu.asimd=off turns it off).
func asmVariants() []*variant {
	if !cpu.ARM64.HasASIMD {
		return nil
	}
	return []*variant{{
		name: "neon", p: neonParams, epi: epiNEON,
		kern: asmKernel(8, 12, kernel8x12NEON),
		tails: []tail{
			{4, asmKernel(8, 4, kernel8x4NEON)},
			{8, asmKernel(8, 8, kernel8x8NEON)},
		},
	}}
}

func epiNEON(row []float32, scale, shift float32, res []float32, relu bool) {
	vecEpilogue(epilogueNEON, 16, row, scale, shift, res, relu)
}
