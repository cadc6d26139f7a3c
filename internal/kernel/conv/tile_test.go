package conv

import (
	"fmt"
	"math"
	"testing"

	"github.com/dla-go/dla/internal/kernel/kerneltest"
)

// TestTileKernel holds the dispatched tile kernel (assembly when available)
// to tileGeneric on random taps, offsets, masks, epilogues and vector steps
// (16: one output row; 21: a vector per row of a 21-wide output).
func TestTileKernel(t *testing.T) {
	for _, c := range [][2]int{{4, 1}, {8, 1}, {4, 2}, {8, 2}} {
		mr, step := c[0], c[1]
		nr := tileNR(mr)
		for i, taps := range []int{1, 2, 9, 36, 147} {
			x := kerneltest.Rand(taps*7+2*nr+64, uint64(i))
			w := kerneltest.Rand(taps*mr, uint64(i)+1)
			offs := make([]int, taps)
			for t := range offs {
				offs[t] = (t * 7) % (len(x) - 2*nr)
			}
			scale, shift := kerneltest.Rand(mr, 3), kerneltest.Rand(mr, 4)
			for _, c := range [][2]int{{1, 16}, {nr / 2, 16}, {nr - 1, 16}, {nr, 16}, {nr, 21}, {nr - 20, 21}} {
				n, ystep := c[0], c[1]
				ldy := (nr/16-1)*ystep + 16 + 5
				for _, withRes := range []bool{false, true} {
					for _, floor := range []float32{0, float32(math.Inf(-1))} {
						var res []float32
						if withRes {
							res = kerneltest.Rand(mr*ldy, 5)
						}
						masks := ^uint64(0) >> (64 - n)
						want := kerneltest.Rand(mr*ldy, 6)
						got, check := kerneltest.Guarded(mr*ldy, want)
						tileGeneric(mr, step, taps, w, offs, x, masks, want, ldy, ystep, scale, shift, res, floor)
						tile(mr, step, taps, w, offs, x, masks, got, ldy, ystep, scale, shift, res, floor)
						check(t)
						kerneltest.CheckNMSE(t, fmt.Sprintf("step=%d mr=%d taps=%d n=%d ystep=%d res=%v floor=%v", step, mr, taps, n, ystep, withRes, floor), got, want, kerneltest.DefaultNMSE)
					}
				}
			}
		}
	}
}

// TestBcastKernel holds the dispatched bcast kernel (assembly when
// available) to bcastGeneric on random taps, offsets, column counts and
// epilogues with and without a residual, with guard bands around the output
// rows. The prefetches, a hint, read past the end of their slice here and
// must change nothing.
func TestBcastKernel(t *testing.T) {
	for _, c := range [][2]int{{14, 1}, {14, 2}, {14, 32}, {7, 1}, {7, 2}} {
		cols, step := c[0], c[1]
		for i, taps := range []int{1, 2, 9, 27, 144} {
			x := kerneltest.Rand(taps*5+step*cols, uint64(i))
			kb := bcastBlock()
			w := kerneltest.Rand(taps*kb, uint64(i)+1)
			offs := make([]int, taps)
			for t := range offs {
				offs[t] = t * 5
			}
			scale, shift := kerneltest.Rand(kb, 3), kerneltest.Rand(kb, 4)
			ldy := cols + 3
			for n := 1; n <= cols; n++ { // every split into AVX2 pieces
				for _, floor := range []float32{0, float32(math.Inf(-1))} {
					for _, res := range [][]float32{nil, kerneltest.Rand(kb*ldy, 7)} {
						want := kerneltest.Rand(kb*ldy, 6)
						got, check := kerneltest.Guarded(len(want), want)
						bcastGeneric(kb, cols, step, taps, w, offs, x, want, ldy, n, scale, shift, res, floor)
						bcastTile(cols, step, taps, w, w[len(w)-1:], 44, offs, x, got, ldy, n, scale, shift, res, floor)
						check(t)
						kerneltest.CheckNMSE(t, fmt.Sprintf("cols=%d step=%d taps=%d n=%d floor=%v res=%v", cols, step, taps, n, floor, res != nil), got, want, kerneltest.DefaultNMSE)
					}
				}
			}
		}
	}
}

// TestBcast16Kernel holds the dispatched 16-channel interleaved kernel
// (the fused stem's) to bcast16Generic for both input strides, every tile
// width that matters and both floors, with guard bands around the output.
func TestBcast16Kernel(t *testing.T) {
	for _, stride := range []int{1, 16} {
		for i, taps := range []int{1, 2, 9, 147} {
			x := kerneltest.Rand(taps*3+28*stride, uint64(i))
			w := kerneltest.Rand(taps*16, uint64(i)+1)
			offs := make([]int, taps)
			for t := range offs {
				offs[t] = t * 3
			}
			x[offs[taps/2]] = float32(math.NaN()) // the assembly turns a NaN sum into the floor
			shift := kerneltest.Rand(16, 4)
			for _, n := range []int{1, 13, 27, 28} {
				for _, floor := range []float32{0, float32(math.Inf(-1))} {
					want := kerneltest.Rand(16*28, 6)
					got, check := kerneltest.Guarded(len(want), want)
					bcast16Generic(stride, w, offs, x, want, n, shift, floor)
					bcast16Tile(stride, w, offs, x, got, n, shift, floor)
					check(t)
					name := fmt.Sprintf("stride=%d taps=%d n=%d floor=%v", stride, taps, n, floor)
					for j := range 16 * n {
						if g, w := got[j], want[j]; w != w && g == g && g != floor || w == w && math.Abs(float64(g-w)) > 1e-4*(1+math.Abs(float64(w))) {
							t.Fatalf("%s: element %d = %v, want %v", name, j, g, w)
						}
					}
					kerneltest.CheckNMSE(t, name+" (unwritten)", got[16*n:], want[16*n:], 0)
				}
			}
		}
	}
}

// TestSplit2 holds the dispatched split2Rows to its definition on every
// length up to 100, one row and three with gaps between them, with guard
// bands after both outputs.
func TestSplit2(t *testing.T) {
	for n := 1; n <= 100; n++ {
		for _, rows := range []int{1, 3} {
			pitch, stride := (n+1)/2+3, n+5
			src := kerneltest.Rand((rows-1)*stride+n, uint64(n))
			size := (rows-1)*pitch + (n+1)/2
			we, wo := kerneltest.Rand(size, 8), kerneltest.Rand(size, 9)
			ge, checkE := kerneltest.Guarded(size, we)
			go_, checkO := kerneltest.Guarded(size, wo)
			split2RowsGeneric(we, wo, src, n, rows, pitch, stride)
			split2Rows(ge, go_, src, n, rows, pitch, stride)
			checkE(t)
			checkO(t)
			kerneltest.CheckNMSE(t, fmt.Sprintf("n=%d rows=%d even", n, rows), ge, we, 0)
			kerneltest.CheckNMSE(t, fmt.Sprintf("n=%d rows=%d odd", n, rows), go_, wo, 0)
		}
	}
}

// TestBuildPhases2 holds the stride-2 phase split to the element-by-element
// layout for odd and even widths and paddings, with and without row gaps.
func TestBuildPhases2(t *testing.T) {
	for _, w := range []int{1, 2, 7, 14, 29, 40} {
		for pad := range 4 {
			for _, mr := range []int{0, 8} {
				p := Params{N: 1, C: 1, H: 5, W: w, K: 8, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: pad, Groups: 1}
				if p.Validate() != nil {
					continue
				}
				g := newGeom(p)
				ph := g.phases(mr)
				src := kerneltest.Rand(p.H*p.W, 1)
				want, got := kerneltest.Rand(ph.chanLen, 2), kerneltest.Rand(ph.chanLen, 3)
				g.buildPhasesAny(want, src, &ph)
				g.buildPhases2(got, src, &ph)
				for i := range ph.chanLen {
					if got[i] != want[i] {
						t.Fatalf("W=%d pad=%d pitch=%d: [%d] = %v, want %v", w, pad, ph.pitch, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestPadRows holds the dispatched padRows to its definition for rows
// shorter and longer than a vector, pads of 0 to 3 and gaps after the row.
func TestPadRows(t *testing.T) {
	for _, w := range []int{1, 7, 14, 16, 17, 56, 224} {
		for _, padL := range []int{0, 1, 3} {
			for _, extra := range []int{0, 1, 2, 5, 20} {
				pitch, rows := padL+w+extra, 3
				src := kerneltest.Rand(rows*w, uint64(w))
				want := kerneltest.Rand(rows*pitch, 1)
				padRowsGeneric(want, src, w, rows, padL, pitch)
				got, check := kerneltest.Guarded(rows*pitch, kerneltest.Rand(rows*pitch, 2))
				padRows(got, src, w, rows, padL, pitch)
				check(t)
				kerneltest.CheckNMSE(t, fmt.Sprintf("w=%d padL=%d pitch=%d", w, padL, pitch), got, want, 0)
			}
		}
	}
}

// The bcast tiles of a run prefetch every cache line of the next block of
// weights (the first half for a run of two tiles), and no tile starts past
// it (the last may run a little beyond, the step being rounded up).
func TestWeightPrefetchCoversNextBlock(t *testing.T) {
	for _, taps := range []int{1, 9, 64, 256, 4608} {
		for tiles := 1; tiles <= 300; tiles++ {
			lines := 2 * taps // 128 bytes a tap
			seen := make([]bool, lines)
			for tile := range tiles {
				off, step := weightPrefetch(tile, tiles, taps, bcastK)
				if step == 0 {
					continue
				}
				if tile == 0 || step%4 != 0 || step > 64 {
					t.Fatalf("taps=%d tiles=%d tile=%d: step %d", taps, tiles, tile, step)
				}
				for i := range taps {
					b := 4*off + i*step
					if i == 0 && b >= 128*taps {
						t.Fatalf("taps=%d tiles=%d tile=%d: starts at byte %d, past the block (%d)", taps, tiles, tile, b, 128*taps)
					}
					if b < 128*taps {
						seen[b/64] = true
					}
				}
			}
			want := lines
			switch tiles {
			case 1:
				want = 0
			case 2:
				want = taps
			}
			for l := range want {
				if !seen[l] {
					t.Fatalf("taps=%d tiles=%d: line %d of %d not prefetched", taps, tiles, l, want)
				}
			}
		}
	}
}

func TestBcastTilesCountsTheRowLoop(t *testing.T) {
	for _, direct := range []bool{false, true} {
		for width := 1; width <= 60; width++ {
			tiles, ow0 := 0, 0
			for ow0 < width {
				ow0 += min(bcastCols(width, ow0, direct), width-ow0)
				tiles++
			}
			if got := bcastTiles(width, direct); got != tiles {
				t.Errorf("width %d direct=%v: bcastTiles %d, loop %d", width, direct, got, tiles)
			}
		}
	}
}

// TestBcastColsAVX2 checks the AVX2 tiles: they cover the row, take at most
// 30 columns, and split into pieces (avx2Piece) of 5 or 6 columns wherever
// the row does; a row that does not (at most 19 columns) is one tile.
func TestBcastColsAVX2(t *testing.T) {
	for width := 1; width <= 240; width++ {
		narrow := width < 5*ceilDiv(width, 6)
		for ow0 := 0; ow0 < width; {
			n := bcastColsAVX2(width, ow0)
			if n < 1 || ow0+n > width || narrow && n != width || !narrow && n > 30 {
				t.Fatalf("width %d: tile at %d has %d columns", width, ow0, n)
			}
			for rem := n; rem > 0; {
				piece := avx2Piece(rem)
				if !narrow && piece < 5 {
					t.Fatalf("width %d: tile at %d (%d columns) has a piece of %d", width, ow0, n, piece)
				}
				rem -= piece
			}
			ow0 += n
		}
	}
}
