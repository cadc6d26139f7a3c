package jpegdsp

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// Every assembly tier this CPU runs is held to the Go code bit for bit, on
// odd sizes, sparse and dense blocks, and coefficients whose products
// overflow (the kernels wrap in int32 exactly as the Go code does).

func randomBlocks(r *rand.Rand, n int, kind int) []int16 {
	blk := make([]int16, 64*n)
	for i := range blk {
		switch kind {
		case 0: // typical: a few small coefficients
			if i%64 == 0 || r.IntN(5) == 0 {
				blk[i] = int16(r.IntN(81) - 40)
			}
		case 1: // dense, wide
			blk[i] = int16(r.IntN(4001) - 2000)
		case 2: // anything, overflow included
			blk[i] = int16(r.Uint32())
		case 3: // DC only, or one AC term in a row or column
			if i%64 == 0 || (i%64 == 8*r.IntN(8) && r.IntN(3) == 0) || (i%64 < 8 && r.IntN(4) == 0) {
				blk[i] = int16(r.IntN(201) - 100)
			}
		}
	}
	return blk
}

func TestIDCTTiers(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range tiers() {
		for trial := range 400 {
			n := 1 + trial%5
			kind := trial % 4
			var q [64]uint16
			for i := range q {
				q[i] = uint16(1 + r.IntN(40))
				if kind == 2 {
					q[i] = uint16(r.Uint32())
				}
			}
			blk := randomBlocks(r, n, kind)
			stride := 8*n + 3 + r.IntN(5)
			want := make([]uint8, 8*stride)
			got := make([]uint8, 8*stride)
			for i := range got {
				got[i] = uint8(i) // untouched bytes must stay as they were
				want[i] = uint8(i)
			}
			idctWith(generic, want, stride, blk, &q, n)
			idctWith(k, got, stride, blk, &q, n)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: trial %d (%d blocks, kind %d): differs from the Go IDCT", k.name, trial, n, kind)
			}
		}
	}
}

func TestFillDCMatchesIDCT(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		var q [64]uint16
		q[0] = uint16(r.Uint32())
		var blk [64]int16
		blk[0] = int16(r.Uint32())
		want, got := make([]uint8, 64), make([]uint8, 64)
		idctGeneric(want, 8, &blk, &q)
		FillDC(got, 8, blk[0], q[0])
		if !bytes.Equal(got, want) {
			t.Fatalf("dc %d q %d: FillDC differs from the IDCT", blk[0], q[0])
		}
	}
}

func randomRow(r *rand.Rand, n int) []uint8 {
	b := make([]uint8, n)
	for i := range b {
		b[i] = uint8(r.Uint32())
	}
	return b
}

func TestUpsampleTiers(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, k := range tiers() {
		for n := 3; n < 300; n += 1 + n/16 {
			near, far, src := randomRow(r, n), randomRow(r, n), randomRow(r, n)
			want := make([]uint8, 2*n+7)
			got := make([]uint8, 2*n+7)
			h2v2With(generic, want, near, far)
			h2v2With(k, got, near, far)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: h2v2 of %d samples differs from the Go code", k.name, n)
			}
			clear(want)
			clear(got)
			h2v1With(generic, want, src)
			h2v1With(k, got, src)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: h2v1 of %d samples differs from the Go code", k.name, n)
			}
		}
	}
}

func TestYCbCrTiers(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, k := range tiers() {
		for n := 0; n < 300; n += 1 + n/8 {
			y, cb, cr := randomRow(r, n), randomRow(r, n), randomRow(r, n)
			want := make([]uint8, 3*n+5)
			got := make([]uint8, 3*n+5)
			yccWith(generic, want, y, cb, cr)
			yccWith(k, got, y, cb, cr)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: %d pixels differ from the Go conversion", k.name, n)
			}
		}
	}
}

// TestUpsampleEdges checks the Go definition's edge samples against
// libjpeg's formulas for the first and last output samples.
func TestUpsampleEdges(t *testing.T) {
	near, far := []uint8{10, 200, 30, 77}, []uint8{250, 0, 90, 3}
	out := make([]uint8, 8)
	h2v2Range(out, near, far, 0, 4)
	cs0, csl := 3*10+250, 3*77+3
	if out[0] != uint8((cs0*4+8)>>4) || out[7] != uint8((csl*4+7)>>4) {
		t.Errorf("h2v2 edges %d %d", out[0], out[7])
	}
	h2v1Range(out, near, 0, 4)
	if out[0] != 10 || out[7] != 77 {
		t.Errorf("h2v1 edges %d %d", out[0], out[7])
	}
}

func BenchmarkKernels(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, k := range append(tiers(), generic) {
		b.Run("idct/"+k.name, func(b *testing.B) {
			var q [64]uint16
			for i := range q {
				q[i] = uint16(1 + r.IntN(20))
			}
			blk := randomBlocks(r, 2, 0)
			dst := make([]uint8, 8*16)
			for b.Loop() {
				idctWith(k, dst, 16, blk, &q, 2)
			}
		})
		b.Run("h2v2/"+k.name, func(b *testing.B) {
			near, far := randomRow(r, 1000), randomRow(r, 1000)
			dst := make([]uint8, 2000)
			b.SetBytes(2000)
			for b.Loop() {
				h2v2With(k, dst, near, far)
			}
		})
		b.Run("ycc/"+k.name, func(b *testing.B) {
			y, cb, cr := randomRow(r, 2000), randomRow(r, 2000), randomRow(r, 2000)
			dst := make([]uint8, 6000)
			b.SetBytes(2000)
			for b.Loop() {
				yccWith(k, dst, y, cb, cr)
			}
		})
	}
}

func TestTransposeTiers(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 11))
	for _, k := range tiers() {
		for trial := range 60 {
			n, w := 1+r.IntN(70), 1+r.IntN(40)
			stride := 3*w + r.IntN(4)
			src := randomRow(r, n*stride+1)
			// Display rows of n pixels, one per column, step apart; a
			// negative step walks them upwards.
			rowBytes := 3*n + r.IntN(5)
			start, step := 0, rowBytes
			if trial%2 == 1 {
				start, step = (w-1)*rowBytes, -rowBytes
			}
			reverse := trial%4 >= 2
			want := randomRow(r, w*rowBytes)
			got := append([]uint8(nil), want...)
			transposeWith(generic, want, start, step, src, stride, n, w, reverse)
			transposeWith(k, got, start, step, src, stride, n, w, reverse)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: %d rows of %d pixels (step %d, reverse %v) differ from the Go loop", k.name, n, w, step, reverse)
			}
		}
	}
}
