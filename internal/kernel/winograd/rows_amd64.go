//go:build !purego

package winograd

import "golang.org/x/sys/cpu"

//go:generate go run -C _asm . -out ../transform_amd64.s -stubs ../transform_amd64.go -pkg winograd

// useAVX2 selects the assembly row transforms; they need what
// transform_amd64.s lists under "Requires:" (AVX, FMA3).
var useAVX2 = cpu.X86.HasAVX && cpu.X86.HasFMA

func inputRows(in []float32, inStride int, out []float32, outStride int, n int) {
	checkRows(in, 6, inStride, n, false)
	checkRows(out, 6, outStride, n, true)
	k := 0
	if useAVX2 {
		k = n &^ 7
		if k > 0 {
			inputRowsAVX2(&in[0], inStride, &out[0], outStride, k)
		}
	}
	if k < n {
		inputRowsGeneric(in[k:], inStride, out[k:], outStride, n-k)
	}
}

func outputRows(in []float32, inStride int, out []float32, outStride int, n int) {
	checkRows(in, 6, inStride, n, false)
	checkRows(out, 4, outStride, n, true)
	k := 0
	if useAVX2 {
		k = n &^ 7
		if k > 0 {
			outputRowsAVX2(&in[0], inStride, &out[0], outStride, k)
		}
	}
	if k < n {
		outputRowsGeneric(in[k:], inStride, out[k:], outStride, n-k)
	}
}
