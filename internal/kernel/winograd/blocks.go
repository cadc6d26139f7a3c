package winograd

import "github.com/dla-go/dla/internal/kernel/parallel"

// Tile blocks: on planes of many tiles, one task takes a run of an image's
// tiles through all three phases (input transform, the 36 products, output
// transform) instead of each phase splitting the whole layer its own way.
// The block's transformed input and products stay in the cache of the core
// that made them, and a core keeps to the same rows of every such layer, so
// at batch 1 on several cores almost nothing crosses between them; only the
// transformed weights are read by every core.

// useBlocks selects runs by tile blocks where a plan has them; tests and
// benchmarks turn it off to run the three phases everywhere.
var useBlocks = true

// tileBlock is a run of one image's tiles, t0..t1 in raster order, with the
// lane maps of its groups of 16.
type tileBlock struct {
	t0, t1 int
	lanes  []laneMap
}

const (
	// minBlockTiles: planes with fewer tiles (14x14 and smaller) keep the
	// three layer-wide phases: there a block would be a few tiles, and
	// every core reading all the transformed weights for them costs more
	// than the phases' exchanges between the cores.
	minBlockTiles = 32
	// maxBlockTiles bounds a block so that its transformed input and
	// products (36 x (C+K) x tiles) stay near L2 size at DLA's widths; the
	// products of 32 tiles run on the widest sgemm kernel.
	maxBlockTiles = 32
)

// tileBlocks splits an h x w plane's tiles into runs of maxBlockTiles, the
// last one shorter, or returns nil for planes under minBlockTiles. Even
// runs instead (28x28's 49 tiles as 24 and 25, one a core at batch 1) were
// no faster: the products of 24 and 25 tiles run on narrower kernels than
// one of 32.
func tileBlocks(h, w int) []tileBlock {
	tiles := (h + tileOut - 1) / tileOut * ((w + tileOut - 1) / tileOut)
	if tiles < minBlockTiles {
		return nil
	}
	var blocks []tileBlock
	for t0 := 0; t0 < tiles; t0 += maxBlockTiles {
		t1 := min(t0+maxBlockTiles, tiles)
		blocks = append(blocks, tileBlock{t0: t0, t1: t1, lanes: laneMapsRange(h, w, t0, t1)})
	}
	return blocks
}

// runBlocks is RunStrided by tile blocks. The workspace holds, per block,
// its transformed input (36 x C x tiles) from 36*C*t0 and its products
// (36 x K x tiles) from 36*C*T + 36*K*t0, where t0 is the block's first tile
// counted over all n images and T is the tiles of all n images.
func (st *runState) runBlocks() {
	parallel.For(st.n*len(st.pl.blocks), 1, st.blockFn)
}

// blockTasks computes blocks lo..hi, counted over all images.
func (st *runState) blockTasks(lo, hi int) {
	pl := st.pl
	hw := pl.h * pl.w
	tpi := pl.tilesH * pl.tilesW
	for i := lo; i < hi; i++ {
		img, b := i/len(pl.blocks), &pl.blocks[i%len(pl.blocks)]
		nt := b.t1 - b.t0
		t0 := img*tpi + b.t0
		v := st.v[nPos*pl.c*t0 : nPos*pl.c*(t0+nt)]
		m := st.m[nPos*pl.k*t0:]
		for c := range pl.c {
			off := img*st.xStride + c*hw
			for g := range b.lanes {
				inputTiles16(st.x[off:off+hw], &b.lanes[g], v[c*nt+16*g:], pl.c*nt)
			}
		}
		for pos := range nPos {
			pl.u[pos].MulSerial(nt, v[pos*pl.c*nt:], nt, m[pos*pl.k*nt:], nt)
		}
		for k := range pl.k {
			out, res, scale, shift, relu := st.epilogue(img, k)
			for g := range b.lanes {
				outputTiles16(m[k*nt+16*g:], pl.k*nt, out, res, &b.lanes[g], scale, shift, relu)
			}
		}
	}
}
