//go:build !purego

package conv

import (
	"math/bits"
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate go run -C _asm . -out ../tile_amd64.s -stubs ../tile_amd64.go -pkg conv

// haveTile reports whether the blocked direct kernels and the AVX-512 bcast
// kernels can run (x/sys/cpu honours GODEBUG=cpu.avx512f=off).
var haveTile = cpu.X86.HasAVX512F

// haveAVX2 reports whether, without AVX-512, the bcast and blocked tiles can
// run as AVX2 pieces (bcastAVX2, tileAVX2). split2Rows has an AVX2 twin too;
// bcast16Tile (the fused stem's direct 16-channel kernel) and padRows (a
// copy in Go) have none. The stem's Winograd kernels (packages row7 and
// c16) have AVX2 forms of their own.
var haveAVX2 = !haveTile && cpu.X86.HasAVX2 && cpu.X86.HasFMA

// tileISA is the instruction set the tile kernels need.
const tileISA = "avx512"

// tile runs the MR x tileNR(mr) kernel with input step 1 or 2 (see
// tileGeneric) on the slices' first elements.
func tile(mr, step, taps int, w []float32, offs []int, x []float32, masks uint64, y []float32, ldy, ystep int, scale, shift, res []float32, floor float32) {
	if !haveTile && !haveAVX2 {
		tileGeneric(mr, step, taps, w, offs, x, masks, y, ldy, ystep, scale, shift, res, floor)
		return
	}
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
	case !haveTile:
		tileAVX2(mr, step, taps, w, offs, x, masks, y, ldy, ystep, scale, shift, res, floor)
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

// bcastTile runs the bcastBlock()-channel x cols-column (14 or 7) bcast
// kernel for input step 1 or 2, or 32 (14 columns: the fused stem's
// interleaved pixels at stride 2); see bcastGeneric. offs must increase.
func bcastTile(cols, step, taps int, w, pf []float32, pfStep int, offs []int, x []float32, y []float32, ldy, n int, scale, shift, res []float32, floor float32) {
	if n < 1 || n > cols || taps < 1 {
		panic("conv: bad bcast tile")
	}
	// offs increase, so the last tap's last column is the furthest read.
	kb := bcastBlock()
	_, _, _, _ = y[(kb-1)*ldy+n-1], scale[kb-1], shift[kb-1], x[offs[taps-1]+step*(cols-1)]
	_ = w[taps*kb-1]
	var r *float32
	if res != nil {
		_ = res[(kb-1)*ldy+n-1]
		r = &res[0]
	}
	switch {
	case haveAVX2:
		bcastAVX2(step, taps, w, offs, x, y, ldy, n, scale, shift, res, floor)
		return
	case !haveTile:
		bcastGeneric(kb, cols, step, taps, w, offs, x, y, ldy, n, scale, shift, res, floor)
		return
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

// tileAVX2 computes an mr x tileNR(mr) tile at input step 1 or 2 with the
// AVX2 kernels, 4 channels a call. The caller checked the bounds. The
// kernels are called directly: through a func value their pointers would
// escape, moving flatTasks' stack scratch to the heap.
func tileAVX2(mr, step, taps int, w []float32, offs []int, x []float32, masks uint64, y []float32, ldy, ystep int, scale, shift, res []float32, floor float32) {
	nv := tileNR(mr) / 16
	for h := 0; h < mr; h += 4 {
		var r *float32
		if res != nil {
			r = &res[h*ldy]
		}
		if step == 2 {
			tile4S2AVX2(nv, taps, &w[h], 4*mr, &offs[0], &x[0], masks, &y[h*ldy], ldy, ystep, &scale[h], &shift[h], r, floor)
		} else {
			tile4AVX2(nv, taps, &w[h], 4*mr, &offs[0], &x[0], masks, &y[h*ldy], ldy, ystep, &scale[h], &shift[h], r, floor)
		}
	}
}

// bcastPiecesAVX2 holds the AVX2 pieces by input step (1, 2, 32) and width
// (1 to 7 columns).
var bcastPiecesAVX2 = [3][7]func(taps int, w *float32, offs *int, x *float32, y *float32, ldy int, scale, shift, res *float32, floor float32){
	{bcast16x1S1AVX2, bcast16x2S1AVX2, bcast16x3S1AVX2, bcast16x4S1AVX2, bcast16x5S1AVX2, bcast16x6S1AVX2, bcast16x7S1AVX2},
	{bcast16x1S2AVX2, bcast16x2S2AVX2, bcast16x3S2AVX2, bcast16x4S2AVX2, bcast16x5S2AVX2, bcast16x6S2AVX2, bcast16x7S2AVX2},
	{bcast16x1S32AVX2, bcast16x2S32AVX2, bcast16x3S32AVX2, bcast16x4S32AVX2, bcast16x5S32AVX2, bcast16x6S32AVX2, bcast16x7S32AVX2},
}

// bcastAVX2 computes the 16-channel bcast tile's n columns with the AVX2
// pieces: at most 6 columns each, as even as they come (avx2Piece; 14
// columns: 5, 5, 4), since a narrower piece has too few accumulators to
// cover the FMA latency. The caller checked the bounds; its slices are all on the heap, so
// calling the pieces through bcastPiecesAVX2's func values moves nothing.
func bcastAVX2(step, taps int, w []float32, offs []int, x, y []float32, ldy, n int, scale, shift, res []float32, floor float32) {
	var pieces *[7]func(int, *float32, *int, *float32, *float32, int, *float32, *float32, *float32, float32)
	switch step {
	case 1:
		pieces = &bcastPiecesAVX2[0]
	case 2:
		pieces = &bcastPiecesAVX2[1]
	case 32:
		pieces = &bcastPiecesAVX2[2]
	default:
		panic("conv: no bcast kernel for this step")
	}
	for j0 := 0; j0 < n; {
		cols := avx2Piece(n - j0)
		var r *float32
		if res != nil {
			r = &res[j0]
		}
		pieces[cols-1](taps, &w[0], &offs[0], &x[step*j0], &y[j0], ldy, &scale[0], &shift[0], r, floor)
		j0 += cols
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
	if !haveTile {
		bcast16Generic(stride, w, offs, x, y, n, shift, floor)
		return
	}
	switch stride {
	case 1:
		bcast16x28C1AVX512(taps, &w[0], &offs[0], &x[0], &y[0], n, &shift[0], floor)
	case 16:
		bcast16x28C16AVX512(taps, &w[0], &offs[0], &x[0], &y[0], n, &shift[0], floor)
	default:
		panic("conv: no bcast16 kernel for this stride")
	}
}

// split2Rows runs split2AVX512 row by row, split2AVX2, or the Go definition
// (see split2RowsGeneric).
func split2Rows(even, odd, src []float32, n, rows, pitch, stride int) {
	if n < 1 || rows < 1 {
		return
	}
	last := (rows - 1) * pitch
	_, _, _ = even[last+(n-1)/2], odd[last+max(n/2-1, 0):], src[(rows-1)*stride+n-1]
	switch {
	case haveTile:
		for r := range rows {
			split2AVX512(&even[r*pitch], unsafe.SliceData(odd[r*pitch:]), &src[r*stride], n)
		}
	case haveAVX2:
		split2AVX2(&even[0], unsafe.SliceData(odd), &src[0], n, rows, pitch, stride)
	default:
		split2RowsGeneric(even, odd, src, n, rows, pitch, stride)
	}
}

// padRows runs padRowsAVX512 (see padRowsGeneric).
func padRows(dst, src []float32, w, rows, padL, pitch int) {
	if rows < 1 || pitch < 1 || w < 1 {
		return
	}
	_, _ = dst[rows*pitch-1], src[rows*w-1]
	if !haveTile {
		padRowsGeneric(dst, src, w, rows, padL, pitch)
		return
	}
	padRowsAVX512(&dst[0], &src[0], w, rows, padL, pitch)
}

// prefetchTileRows asks for the rows rows of width floats, ld apart, from
// s[0] on in L1 (see prefetchRows); a hint that changes nothing else.
func prefetchTileRows(s []float32, ld, rows, width int) {
	if rows >= 1 && width >= 1 && len(s) > 0 {
		prefetchRows(&s[0], ld, rows, width)
	}
}
