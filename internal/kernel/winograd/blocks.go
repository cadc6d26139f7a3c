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

const (
	// minBlockTiles: planes with fewer tiles (14x14 and smaller) keep the
	// three layer-wide phases: there a block would be a few tiles, and
	// every core reading all the transformed weights for them costs more
	// than the phases' exchanges between the cores.
	minBlockTiles = 32
	// blockGroups is the groups of a block: 32 columns, so that its
	// transformed input and products (36 x (C+K) x 32) stay near L2 size
	// at DLA's widths and the products run on the widest sgemm kernel.
	blockGroups = 2
)

// blocks is the number of tile blocks of an image: its quarter groups
// blockGroups at a time, the last block shorter; 0 on planes under
// minBlockTiles, which run the three phases.
func (pl *Plan) blocks() int {
	if pl.tilesH*pl.tilesW < minBlockTiles {
		return 0
	}
	return (len(pl.quarters) + blockGroups - 1) / blockGroups
}

// block is the quarter groups of block b and its first column among an
// image's columns (16 a group).
func (pl *Plan) block(b int) (groups []quarterGroup, col0 int) {
	g := b * blockGroups
	return pl.quarters[g:min(g+blockGroups, len(pl.quarters))], 16 * g
}

// runBlocks is RunStrided by tile blocks. The workspace holds, per block,
// its transformed input (36 x C x columns) from 36*C*c0 and its products
// (36 x K x columns) after all the transformed input, from 36*K*c0, where
// c0 is the block's first column counted over all n images.
func (st *runState) runBlocks() {
	parallel.For(st.n*st.pl.blocks(), 1, st.blockFn)
}

// blockTasks computes blocks lo..hi, counted over all images.
func (st *runState) blockTasks(lo, hi int) {
	pl := st.pl
	hw := pl.h * pl.w
	nb, cols := pl.blocks(), pl.columns(1)
	for i := lo; i < hi; i++ {
		img := i / nb
		groups, col0 := pl.block(i % nb)
		nc := 16 * len(groups)
		c0 := img*cols + col0
		v := st.v[nPos*pl.c*c0 : nPos*pl.c*(c0+nc)]
		m := st.m[nPos*pl.k*c0:]
		for c := range pl.c {
			off := img*st.xStride + c*hw
			for g := range groups {
				inputQuarters16(st.x[off:off+hw], &groups[g], v[c*nc+16*g:], pl.c*nc)
			}
		}
		for pos := range nPos {
			pl.u[pos].MulSerial(nc, v[pos*pl.c*nc:], nc, m[pos*pl.k*nc:], nc)
		}
		for k := range pl.k {
			out, res, scale, shift, relu := st.epilogue(img, k)
			for g := range groups {
				outputQuarters16(m[k*nc+16*g:], pl.k*nc, out, res, &groups[g], scale, shift, relu)
			}
		}
	}
}
