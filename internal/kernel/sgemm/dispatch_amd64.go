//go:build !purego

package sgemm

import "golang.org/x/sys/cpu"

//go:generate go run -C _asm . -out ../micro_amd64.s -stubs ../micro_amd64.go -pkg sgemm

// avx512Params: an 8x32 tile (16 zmm accumulators) measured faster than
// 14x32, 12x32, 8x48 and 6x64 on convolution shapes, whose m is a multiple
// of 8, and as fast on square ones.
var avx512Params = params{
	MR: 8, NR: 32,
	KC: 256, // A panel 8 KiB of a 32 KiB L1
	MC: 512,
	NC: 512, // B block 512 KiB of a 1 MiB L2 (Zen 4)
}

// avx2Params: a 6x16 tile uses 12 of the 16 ymm registers as accumulators.
var avx2Params = params{
	MR: 6, NR: 16,
	KC: 256, // A panel 6 KiB of a 32 KiB L1
	MC: 480,
	NC: 512, // B block 512 KiB of L2
}

// tierISA lists the instruction sets each tier's assembly may use, named as
// in avo's "Requires:" lines; TestRequiresMatchesDispatch holds micro_amd64.s
// to it. (MMX+ is AMD's name for the SSE prefetches every amd64 CPU has.)
var tierISA = map[string][]string{
	"AVX512": {"AVX", "AVX512F", "AVX512VL", "FMA3", "MMX+"},
	"AVX2":   {"AVX", "AVX2", "FMA3", "MMX+"},
}

// hasISA reports whether this CPU and OS support every listed instruction set.
// x/sys/cpu honours GODEBUG=cpu.avx512f=off, cpu.avx2=off and cpu.fma=off.
func hasISA(isas []string) bool {
	for _, isa := range isas {
		ok := false
		switch isa {
		case "AVX":
			ok = cpu.X86.HasAVX
		case "AVX2":
			ok = cpu.X86.HasAVX2
		case "AVX512F":
			ok = cpu.X86.HasAVX512F
		case "AVX512VL":
			ok = cpu.X86.HasAVX512VL
		case "FMA3":
			ok = cpu.X86.HasFMA
		case "MMX+":
			ok = true
		}
		if !ok {
			return false
		}
	}
	return true
}

// zen5 reports whether the CPU is an AMD family 1Ah (Zen 5), whose two FMA
// pipes are 512 bits wide where Zen 4 splits a zmm FMA over two 256-bit
// halves.
func zen5() bool {
	_, b, c, d := cpuid(0, 0)
	if b != 0x68747541 || d != 0x69746e65 || c != 0x444d4163 { // "AuthenticAMD"
		return false
	}
	a, _, _, _ := cpuid(1, 0)
	family := a >> 8 & 0xf
	if family == 0xf {
		family += a >> 20 & 0xff
	}
	return family == 0x1a
}

// asmVariants lists the assembly tiers this CPU (and OS) supports, fastest first.
func asmVariants() []*variant {
	var vs []*variant
	if hasISA(tierISA["AVX512"]) {
		tails := []tail{
			{1, columnKernel},
			{8, asmKernel(8, 8, kernel8x8AVX512)},
			{16, asmKernel(8, 16, kernel8x16AVX512)},
			{24, asmKernel(8, 24, kernel8x24AVX512)},
		}
		avx512 := &variant{
			name: "avx512", p: avx512Params, epi: epiAVX512, pack: pack8,
			kern: asmKernel(8, 32, kernel8x32AVX512), tails: tails,
		}
		// Zen 5's tier: the same blocking and tails, the 8x32 kernel with
		// one broadcast per row of A, and B packed when its rows are a
		// multiple of 4 KiB apart. It is the default only on Zen 5 and is
		// listed on other AVX-512 CPUs so that their tests cover it.
		zen5Variant := &variant{
			name: "avx512zen5", p: avx512Params, epi: epiAVX512, pack: pack8,
			kern: asmKernel(8, 32, kernel8x32BcastAVX512), tails: tails,
			pack4K: true,
		}
		if zen5() {
			vs = append(vs, zen5Variant, avx512)
		} else {
			vs = append(vs, avx512, zen5Variant)
		}
	}
	if hasISA(tierISA["AVX2"]) {
		vs = append(vs, &variant{
			name: "avx2", p: avx2Params, epi: epiAVX2, pack: pack6, packNarrow: true,
			kern:  asmKernel(6, 16, kernel6x16AVX2),
			tails: []tail{{8, asmKernel(6, 8, kernel6x8AVX2)}},
		})
	}
	return vs
}

// columnKernel is the 8x1 kernel (column8AVX512), c rows ldc apart.
func columnKernel(kc int, a, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	_, _, _ = a[8*kc-1], b[(kc-1)*ldb], c[7*ldc]
	var s [8]float32
	column8AVX512(kc, &a[0], &b[0], ldb, &s[0])
	for r, v := range s {
		if accumulate {
			v += c[r*ldc]
		}
		c[r*ldc] = v
	}
}

func epiAVX512(row []float32, scale, shift float32, res []float32, relu bool) {
	vecEpilogue(epilogueAVX512, 32, row, scale, shift, res, relu)
}

func epiAVX2(row []float32, scale, shift float32, res []float32, relu bool) {
	vecEpilogue(epilogueAVX2, 16, row, scale, shift, res, relu)
}

// pack8 packs the leading columns of an 8-row panel of A, a multiple of 16,
// with pack8AVX512 (variant.pack).
func pack8(dst, src []float32, lda, kc int, alpha float32) int {
	n := kc &^ 15
	if n == 0 {
		return 0
	}
	_, _ = dst[8*n-1], src[7*lda+n-1]
	pack8AVX512(&dst[0], &src[0], lda, n, alpha)
	return n
}

// pack6 packs the leading columns of a 6-row panel of A, a multiple of 8,
// with pack6AVX2 (variant.pack).
func pack6(dst, src []float32, lda, kc int, alpha float32) int {
	n := kc &^ 7
	if n == 0 {
		return 0
	}
	_, _ = dst[6*n-1], src[5*lda+n-1]
	pack6AVX2(&dst[0], &src[0], lda, n/8, alpha)
	return n
}
