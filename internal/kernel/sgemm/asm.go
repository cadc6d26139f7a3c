//go:build (amd64 || arm64) && !purego

package sgemm

// asmKernel adapts an MR x NR assembly kernel to the kernel type, checking
// bounds once per call.
func asmKernel(mr, nr int, f func(kc int, a, b *float32, ldb int, c *float32, ldc int, accumulate bool)) kernel {
	return func(kc int, a, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
		_ = a[mr*kc-1]
		_ = b[(kc-1)*ldb+nr-1]
		_ = c[(mr-1)*ldc+nr-1]
		f(kc, &a[0], &b[0], ldb, &c[0], ldc, accumulate)
	}
}

// vecEpilogue runs the assembly epilogue f on the longest prefix of row that
// is a multiple of step, and the Go one on the rest.
func vecEpilogue(f func(row *float32, n int, scale, shift float32, res *float32, relu bool), step int, row []float32, scale, shift float32, res []float32, relu bool) {
	n := len(row) / step * step
	if n == 0 {
		epilogueRow(row, scale, shift, res, relu)
		return
	}
	if res != nil {
		res = res[:len(row)]
		f(&row[0], n, scale, shift, &res[0], relu)
		epilogueRow(row[n:], scale, shift, res[n:], relu)
		return
	}
	f(&row[0], n, scale, shift, nil, relu)
	epilogueRow(row[n:], scale, shift, nil, relu)
}
