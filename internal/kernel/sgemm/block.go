package sgemm

import (
	"github.com/dla-go/dla/internal/kernel/freelist"
	"github.com/dla-go/dla/internal/kernel/parallel"
)

// job is one product being computed; workers take its MC x NC blocks of C.
type job struct {
	v         *variant
	m, n, k   int
	pa        []float32 // packed alpha*op(A)
	transB    bool
	b         []float32
	ldb       int
	beta      float32
	c         []float32
	ldc       int
	epi       *Epilogue
	mb, nb    int // block size in rows and columns
	colBlocks int
	// sharedB is op(B) packed once for every block (packShared), laid out
	// as sharedPanel says; nil when each block packs what it needs.
	sharedB []float32
	packing bool // Run packs sharedB's panels instead of computing blocks
}

var jobs = freelist.List[job]{New: func() *job { return new(job) }, Max: freelist.MaxSmall}

func getJob() *job { return jobs.Get() }

func putJob(j *job) {
	*j = job{} // drop references to the caller's slices
	jobs.Put(j)
}

// Run computes blocks [lo, hi), or packs panels [lo, hi) of sharedB while
// j.packing; a *job is the parallel.Task of one product.
func (j *job) Run(lo, hi int) {
	for t := lo; t < hi; t++ {
		if j.packing {
			j.packPanel(t)
		} else {
			j.block(t)
		}
	}
}

// block computes one MC x NC block of C: for each KC slice it runs the
// micro-kernel over every MR x NR tile, each MR panel of A staying in L1
// while the block's rows of B stream past it (from memory for the first
// panel, then from L2).
func (j *job) block(t int) {
	p := j.v.p
	i0, j0 := t/j.colBlocks*j.mb, t%j.colBlocks*j.nb
	i1, j1 := min(j.m, i0+j.mb), min(j.n, j0+j.nb)
	c, ldc := j.c, j.ldc
	if j.beta != 0 && j.beta != 1 {
		for i := i0; i < i1; i++ {
			row := c[i*ldc+j0 : i*ldc+j1]
			for x := range row {
				row[x] *= j.beta
			}
		}
	}
	mPad := roundUp(j.m, p.MR)
	nPad := 0 // the block's own packed B, unless it is shared
	if j.sharedB == nil {
		nPad = roundUp(j1-j0, p.NR)
	}
	buf := getBuf(p.KC*nPad + p.MR*p.NR)
	packed, tile := buf.s[:p.KC*nPad], buf.s[p.KC*nPad:]
	for p0 := 0; p0 < j.k; p0 += p.KC {
		kc := min(p.KC, j.k-p0)
		if j.sharedB == nil {
			for jj := j0; jj < j1; jj += p.NR {
				cols := min(p.NR, j1-jj)
				if _, w := j.v.kernelFor(cols); !j.inPlace(w) || cols < w {
					packB(packed[(jj-j0)*kc:], w, j.transB, j.b, j.ldb, p0, kc, jj, jj+cols)
				}
			}
		}
		accumulate := p0 > 0 || j.beta != 0
		last := p0+kc == j.k
		slice := j.pa[p0*mPad : p0*mPad+mPad*kc]
		for i := i0; i < i1; i += p.MR {
			ap := slice[i*kc : (i+p.MR)*kc]
			rows := min(p.MR, i1-i)
			for jj := j0; jj < j1; jj += p.NR {
				cols := min(p.NR, j1-jj)
				kern, w := j.v.kernelFor(cols)
				var bp []float32
				ldb := w
				switch {
				case j.sharedB != nil:
					bp = j.sharedPanel(p0, jj, kc)
				case cols == w && j.inPlace(w):
					bp, ldb = j.b[p0*j.ldb+jj:], j.ldb
				default:
					bp = packed[(jj-j0)*kc:]
				}
				if rows == p.MR && cols == w {
					kern(kc, ap, bp, ldb, c[i*ldc+jj:], ldc, accumulate)
					continue
				}
				// Edge tile: compute it whole into scratch, copy out what exists.
				kern(kc, ap, bp, ldb, tile, w, false)
				for r := range rows {
					src := tile[r*w : r*w+cols]
					dst := c[(i+r)*ldc+jj : (i+r)*ldc+jj+cols]
					if accumulate {
						for x, v := range src {
							dst[x] += v
						}
					} else {
						copy(dst, src)
					}
				}
			}
			if last && j.epi != nil {
				j.epi.apply(j.v.epi, i, i+rows, j0, j1, c, ldc)
			}
		}
	}
	putBuf(buf)
}

// inPlace reports whether the kernels read a w-wide panel of B in place
// (faster than packing it, when it can) rather than from a packed copy.
// Transposed B is always packed. So is B whose rows are a multiple of 4 KiB
// apart when a panel row is one cache line: all rows then share one L1 set
// and its 8 ways thrash (AVX2 ran at half speed at n = 1024).
func inPlace(transB bool, w, ldb int) bool {
	return !transB && (4*w > 64 || ldb%1024 != 0)
}

// inPlace is inPlace for this job's B, also packing rows 4 KiB apart, or
// the rows of a narrow B not a whole number of cache lines apart, for a
// variant that asks (variant.pack4K, variant.packNarrow).
func (j *job) inPlace(w int) bool {
	return inPlace(j.transB, w, j.ldb) && !(j.v.pack4K && j.ldb%1024 == 0) && !j.packsNarrow()
}

// packsNarrow reports whether the variant packs this job's B for being
// narrow: fewer than four panels whose rows are not a whole number of
// cache lines apart (variant.packNarrow).
func (j *job) packsNarrow() bool {
	return j.v.packNarrow && !j.transB && j.n < 4*j.v.p.NR && j.ldb%16 != 0
}

// packShared packs all of op(B) into j.sharedB (see there), the workers
// taking KC slices' panels in turn: a narrow B (packsNarrow) that each row
// block would pack again is packed once.
func (j *job) packShared() {
	p := j.v.p
	j.packing = true
	grain := max(1, (1<<14)/(p.KC*p.NR)) // about 64 KiB a chunk
	parallel.Run(ceilDiv(j.k, p.KC)*ceilDiv(j.n, p.NR), grain, j)
	j.packing = false
}

// packPanel packs panel t of sharedB: KC slice t/panels, panel t%panels.
func (j *job) packPanel(t int) {
	p := j.v.p
	panels := ceilDiv(j.n, p.NR)
	p0, jj := t/panels*p.KC, t%panels*p.NR
	kc, cols := min(p.KC, j.k-p0), min(p.NR, j.n-jj)
	_, w := j.v.kernelFor(cols)
	packB(j.sharedPanel(p0, jj, kc), w, j.transB, j.b, j.ldb, p0, kc, jj, jj+cols)
}

// sharedPanel is sharedB from the panel at column jj of the KC slice at
// row p0 on: each slice [p0, p0+kc) starts at p0*roundUp(n, NR), and its
// panel at column jj jj*kc floats later.
func (j *job) sharedPanel(p0, jj, kc int) []float32 {
	return j.sharedB[p0*roundUp(j.n, j.v.p.NR)+jj*kc:]
}
