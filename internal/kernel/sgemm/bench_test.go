package sgemm

import (
	"fmt"
	"testing"

	"github.com/dla-go/dla/internal/kernel/kerneltest"
	"github.com/dla-go/dla/internal/kernel/parallel"
)

// poolPerCPU sizes the worker pool to this benchmark's GOMAXPROCS (-cpu).
func poolPerCPU(b *testing.B) {
	old := parallel.SetWorkers(0)
	b.Cleanup(func() { parallel.SetWorkers(old) })
}

// gflops reports GFLOP/s of wall time and, because the development machine
// is shared, GFLOP per CPU-second, which other load disturbs far less (with
// w workers, GFLOP/s on an idle machine is about w times it).
func gflops(b *testing.B, m, n, k int, f func()) {
	cpu0 := processCPU()
	for b.Loop() {
		f()
	}
	flops := 2 * float64(m) * float64(n) * float64(k) * float64(b.N) / 1e9
	b.ReportMetric(flops/b.Elapsed().Seconds(), "GFLOP/s")
	if cpu := processCPU() - cpu0; cpu0 > 0 && cpu > 0 {
		b.ReportMetric(flops/cpu, "GFLOP/cpu-s")
	}
}

func BenchmarkSgemm(b *testing.B) {
	for _, name := range Variants() {
		for _, s := range []int{256, 512, 1024, 2048} {
			b.Run(fmt.Sprintf("%s/%d", name, s), func(b *testing.B) {
				defer UseVariant(name)()
				poolPerCPU(b)
				x := kerneltest.Rand(s*s, 1)
				y := kerneltest.Rand(s*s, 2)
				z := make([]float32, s*s)
				gflops(b, s, s, s, func() { Sgemm(false, false, s, s, s, 1, x, s, y, s, 0, z, s) })
			})
		}
	}
}

// BenchmarkPackedMul runs convolution-shaped products (m = output channels,
// k = Cin*3*3, n = output pixels) with a BatchNorm+ReLU epilogue.
func BenchmarkPackedMul(b *testing.B) {
	for _, s := range [][3]int{{64, 576, 3136}, {128, 1152, 784}, {256, 256, 3136}} {
		m, k, n := s[0], s[1], s[2]
		for _, name := range Variants() {
			b.Run(fmt.Sprintf("%s/m%d_k%d_n%d", name, m, k, n), func(b *testing.B) {
				defer UseVariant(name)()
				poolPerCPU(b)
				pa := PackA(false, m, k, kerneltest.Rand(m*k, 1), k)
				x := kerneltest.Rand(k*n, 2)
				y := make([]float32, m*n)
				epi := &Epilogue{Scale: kerneltest.Rand(m, 3), Shift: kerneltest.Rand(m, 4), ReLU: true}
				gflops(b, m, n, k, func() { pa.Mul(n, x, n, y, n, epi) })
			})
		}
	}
}

// BenchmarkThinMul runs the narrow products the tail kernels take: a
// Winograd layer's 36 products at batch 1 (256x256 by 16 tiles at 14x14, 49
// at 28x28) and the classifier's one column (1000 outputs):
//
//	go test -run '^$' -bench ThinMul -cpu 2 ./internal/kernel/sgemm/
func BenchmarkThinMul(b *testing.B) {
	for _, s := range [][3]int{{256, 256, 1}, {256, 256, 16}, {256, 256, 49}, {256, 256, 64}, {1000, 256, 1}, {1000, 1024, 1}} {
		m, k, n := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("m%d_k%d_n%d", m, k, n), func(b *testing.B) {
			poolPerCPU(b)
			pa := PackA(false, m, k, kerneltest.Rand(m*k, 1), k)
			x := kerneltest.Rand(k*n, 2)
			y := make([]float32, m*n)
			gflops(b, m, n, k, func() { pa.Mul(n, x, n, y, n, nil) })
		})
	}
}

// BenchmarkMicro runs each assembly tier's micro-kernels alone on panels
// that stay in L1 (kc = 128: 4 KiB of A, 16 KiB of B at 8x32), so the
// figure is the kernel's own throughput, apart from memory and packing:
//
//	go test -run '^$' -bench Micro -cpu 1 ./internal/kernel/sgemm/
func BenchmarkMicro(b *testing.B) {
	const kc = 128
	for _, v := range available {
		if v == generic {
			continue
		}
		kerns := append([]tail{{v.p.NR, v.kern}}, v.tails...)
		for _, t := range kerns {
			if t.nr == 1 {
				continue // the column kernel has its own shape
			}
			b.Run(fmt.Sprintf("%s/%dx%d", v.name, v.p.MR, t.nr), func(b *testing.B) {
				a := kerneltest.Rand(v.p.MR*kc, 1)
				x := kerneltest.Rand(kc*t.nr, 2)
				c := make([]float32, v.p.MR*t.nr)
				cpu0 := processCPU()
				for b.Loop() {
					t.kern(kc, a, x, t.nr, c, t.nr, true)
				}
				flops := 2 * float64(v.p.MR*t.nr*kc) * float64(b.N) / 1e9
				b.ReportMetric(flops/b.Elapsed().Seconds(), "GFLOP/s")
				if cpu := processCPU() - cpu0; cpu0 > 0 && cpu > 0 {
					b.ReportMetric(flops/cpu, "GFLOP/cpu-s")
				}
			})
		}
	}
}
