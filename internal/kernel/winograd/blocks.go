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

// tileBlock is a run of quarter groups (quarters.go) of one image,
// whose transformed input and products take 16 columns a group from
// column col0 of the image's block columns.
type tileBlock struct {
	col0   int
	groups []quarterGroup
}

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

// tileBlocks makes an h x w plane's quarter groups into blocks of
// blockGroups, the last shorter, and returns them with the block columns an
// image takes; nil for planes under minBlockTiles.
func tileBlocks(h, w int) ([]tileBlock, int) {
	if (h+tileOut-1)/tileOut*((w+tileOut-1)/tileOut) < minBlockTiles {
		return nil, 0
	}
	groups := quarterGroups(h, w)
	var blocks []tileBlock
	for g := 0; g < len(groups); g += blockGroups {
		blocks = append(blocks, tileBlock{col0: 16 * g, groups: groups[g:min(g+blockGroups, len(groups))]})
	}
	return blocks, 16 * len(groups)
}

// runBlocks is RunStrided by tile blocks. The workspace holds, per block,
// its transformed input (36 x C x columns) from 36*C*c0 and its products
// (36 x K x columns) after all the transformed input, from 36*K*c0, where
// c0 is the block's first column counted over all n images.
func (st *runState) runBlocks() {
	parallel.For(st.n*len(st.pl.blocks), 1, st.blockFn)
}

// blockTasks computes blocks lo..hi, counted over all images.
func (st *runState) blockTasks(lo, hi int) {
	pl := st.pl
	hw := pl.h * pl.w
	for i := lo; i < hi; i++ {
		img, b := i/len(pl.blocks), &pl.blocks[i%len(pl.blocks)]
		nc := 16 * len(b.groups)
		c0 := img*pl.blockCols + b.col0
		v := st.v[nPos*pl.c*c0 : nPos*pl.c*(c0+nc)]
		m := st.m[nPos*pl.k*c0:]
		for c := range pl.c {
			off := img*st.xStride + c*hw
			for g := range b.groups {
				inputQuarters16(st.x[off:off+hw], &b.groups[g], v[c*nc+16*g:], pl.c*nc)
			}
		}
		for pos := range nPos {
			pl.u[pos].MulSerial(nc, v[pos*pl.c*nc:], nc, m[pos*pl.k*nc:], nc)
		}
		for k := range pl.k {
			out, res, scale, shift, relu := st.epilogue(img, k)
			for g := range b.groups {
				outputQuarters16(m[k*nc+16*g:], pl.k*nc, out, res, &b.groups[g], scale, shift, relu)
			}
		}
	}
}
