//go:build !purego

package conv

import (
	"math/bits"
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate go run -C _asm . -out ../tile_amd64.s -stubs ../tile_amd64.go -pkg conv

// haveTile reports whether the blocked direct kernels can run (x/sys/cpu
// honours GODEBUG=cpu.avx512f=off).
var haveTile = cpu.X86.HasAVX512F

// tileISA is the instruction set the tile kernels need.
const tileISA = "avx512"

// tile runs the MR x tileNR(mr) kernel with input step 1 or 2 (see
// tileGeneric) on the slices' first elements.
func tile(mr, step, taps int, w []float32, offs []int, x []float32, masks uint64, y []float32, ldy, ystep int, scale, shift, res []float32, floor float32) {
	if masks == 0 {
		return
	}
	// The last element written, so that a bad call panics here, not in
	// memory it does not own.
	j := 63 - bits.LeadingZeros64(masks&(1<<tileNR(mr)-1))
	last := (mr-1)*ldy + j/16*ystep + j%16
	_, _, _ = y[last], scale[mr-1], shift[mr-1]
	var r *float32
	if res != nil {
		_ = res[last]
		r = unsafe.SliceData(res)
	}
	switch {
	case mr == 4 && step == 1:
		tile4x64AVX512(taps, &w[0], &offs[0], &x[0], masks, &y[0], ldy, ystep, &scale[0], &shift[0], r, floor)
	case mr == 4:
		tile4x64S2AVX512(taps, &w[0], &offs[0], &x[0], masks, &y[0], ldy, ystep, &scale[0], &shift[0], r, floor)
	case step == 1:
		tile8x32AVX512(taps, &w[0], &offs[0], &x[0], masks, &y[0], ldy, ystep, &scale[0], &shift[0], r, floor)
	default:
		tile8x32S2AVX512(taps, &w[0], &offs[0], &x[0], masks, &y[0], ldy, ystep, &scale[0], &shift[0], r, floor)
	}
}

// bcastTile runs the cols-column (14 or 7) bcast kernel for input step 1 or
// 2, or 32 (14 columns: the fused stem's interleaved pixels at stride 2);
// see bcastGeneric. offs must increase.
func bcastTile(cols, step, taps int, w, pf []float32, pfStep int, offs []int, x []float32, y []float32, ldy, n int, scale, shift, res []float32, floor float32) {
	if n < 1 || n > cols || taps < 1 {
		panic("conv: bad bcast tile")
	}
	// offs increase, so the last tap's last column is the furthest read.
	_, _, _, _ = y[(bcastK-1)*ldy+n-1], scale[bcastK-1], shift[bcastK-1], x[offs[taps-1]+step*(cols-1)]
	var r *float32
	if res != nil {
		_ = res[(bcastK-1)*ldy+n-1]
		r = &res[0]
	}
	p := &w[0]
	if len(pf) > 0 {
		p = &pf[0]
	}
	switch {
	case cols == 14 && step == 1:
		bcast32x14S1AVX512(taps, &w[0], p, pfStep, &offs[0], &x[0], &y[0], ldy, n, &scale[0], &shift[0], r, floor)
	case cols == 14 && step == 2:
		bcast32x14S2AVX512(taps, &w[0], p, pfStep, &offs[0], &x[0], &y[0], ldy, n, &scale[0], &shift[0], r, floor)
	case cols == 14 && step == 32:
		bcast32x14S32AVX512(taps, &w[0], p, pfStep, &offs[0], &x[0], &y[0], ldy, n, &scale[0], &shift[0], r, floor)
	case cols == 7 && step == 1:
		bcast32x7S1AVX512(taps, &w[0], p, pfStep, &offs[0], &x[0], &y[0], ldy, n, &scale[0], &shift[0], r, floor)
	case cols == 7 && step == 2:
		bcast32x7S2AVX512(taps, &w[0], p, pfStep, &offs[0], &x[0], &y[0], ldy, n, &scale[0], &shift[0], r, floor)
	default:
		panic("conv: no bcast kernel for this width and step")
	}
}

// bcast16Tile runs the 28-pixel interleaved kernel for input stride 1 or 16
// (see bcast16Generic); offs must increase.
func bcast16Tile(stride int, w []float32, offs []int, x, y []float32, n int, shift []float32, floor float32) {
	taps := len(offs)
	if n < 1 || n > 28 || taps < 1 {
		panic("conv: bad bcast16 tile")
	}
	_, _, _, _ = w[16*taps-1], x[offs[taps-1]+stride*27], y[16*n-1], shift[15]
	switch stride {
	case 1:
		bcast16x28C1AVX512(taps, &w[0], &offs[0], &x[0], &y[0], n, &shift[0], floor)
	case 16:
		bcast16x28C16AVX512(taps, &w[0], &offs[0], &x[0], &y[0], n, &shift[0], floor)
	default:
		panic("conv: no bcast16 kernel for this stride")
	}
}

// split2 runs split2AVX512 (see split2Generic).
func split2(even, odd, src []float32) {
	n := len(src)
	if n == 0 {
		return
	}
	_, _ = even[(n-1)/2], odd[max(n/2-1, 0):]
	split2AVX512(&even[0], unsafe.SliceData(odd), &src[0], n)
}

// padRows runs padRowsAVX512 (see padRowsGeneric).
func padRows(dst, src []float32, w, rows, padL, pitch int) {
	if rows < 1 || pitch < 1 || w < 1 {
		return
	}
	_, _ = dst[rows*pitch-1], src[rows*w-1]
	padRowsAVX512(&dst[0], &src[0], w, rows, padL, pitch)
}

// prefetchTileRows asks for the rows rows of width floats, ld apart, from
// s[0] on in L1 (see prefetchRows); a hint that changes nothing else.
func prefetchTileRows(s []float32, ld, rows, width int) {
	if rows >= 1 && width >= 1 && len(s) > 0 {
		prefetchRows(&s[0], ld, rows, width)
	}
}
