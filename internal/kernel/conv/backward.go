package conv

import (
	"github.com/dla-go/dla/internal/kernel/parallel"
	"github.com/dla-go/dla/internal/kernel/sgemm"
)

// BackwardWorkspaceSize is the number of floats BackwardData and
// BackwardFilter need in ws: one image's im2col matrix (none for a 1x1,
// stride 1, unpadded convolution), or the forward workspace of the
// transposed convolution BackwardData may use.
func BackwardWorkspaceSize(p Params) int {
	g := mustValid(p)
	n := 0
	if !g.direct {
		n = p.C * p.R * p.S * g.ohow
	}
	if tp, ok := transposed(p); ok {
		n = max(n, p.K*g.kdim+WorkspaceSize(tp))
	}
	// The filter gradient always runs in chunks (of one image for large
	// maps), the data gradient only for several images.
	return max(n, g.chunkWorkspace(g.backwardChunk(p.N)))
}

// Small maps: the backward passes lay the im2col matrices (and output
// gradients) of several images side by side, so that each matrix product
// has at least chunkColumns columns; per image, the products of a 16x16
// map packed their operands more than they multiplied. chunkCap bounds the
// workspace that takes.
const (
	chunkColumns = 4096
	chunkCap     = 8 << 20 // floats
)

// backwardChunk is the number of images the backward passes of an n-image
// batch process side by side (1: image by image).
func (g *geom) backwardChunk(n int) int {
	m := min(n, ceilDiv(chunkColumns, g.ohow))
	if per := g.chunkFloats(1); m*per > chunkCap {
		m = max(1, chunkCap/per)
	}
	return m
}

// chunkFloats is the workspace of m images side by side: their im2col rows
// (or their input planes, for a 1x1 convolution) and output gradients.
func (g *geom) chunkFloats(m int) int {
	return (g.C*g.R*g.S + g.K) * m * g.ohow
}

// chunkWorkspace adds backwardFilterChunks' transposed weight gradient.
func (g *geom) chunkWorkspace(m int) int {
	return g.chunkFloats(m) + g.K*g.kdim
}

// gatherRows lays channel rows of m images side by side: for each of the c
// channels, image i's plane (hw floats of src, images cs channels apart)
// goes to dst[ch*ld + i*hw]. It moves a chunk's output gradients (and a 1x1
// convolution's inputs) into matrix-product layout.
func gatherRows(m, c, hw, ld int, src, dst []float32) {
	parallel.For(c, ceilDiv(c, 2*parallel.Workers()), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			for i := range m {
				copy(dst[ch*ld+i*hw:ch*ld+(i+1)*hw], src[(i*c+ch)*hw:(i*c+ch+1)*hw])
			}
		}
	})
}

// gatherColumns writes the c channels of m images of src (m x c x hw) as
// one ld x kg matrix per group of kg channels, ld = m*hw: pixel p of image
// i, channel grp*kg+k at dst[grp*ld*kg + (i*hw+p)*kg + k].
func gatherColumns(m, c, kg, hw int, src, dst []float32) {
	ld := m * hw
	// Tasks take runs of pixels, so that no two write the same cache line.
	const run = 256
	runs := ceilDiv(hw, run)
	parallel.For(m*runs, 1, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			i, p0 := t/runs, t%runs*run
			p1 := min(hw, p0+run)
			for ch := range c {
				grp, k := ch/kg, ch%kg
				out := dst[grp*ld*kg+(i*hw+p0)*kg+k:]
				for p, v := range src[(i*c+ch)*hw+p0 : (i*c+ch)*hw+p1] {
					out[p*kg] = v
				}
			}
		}
	})
}

// im2colChunk writes the im2col rows of m images of x side by side: row
// (ch, r, s) of image i at cols[(ch*R*S + r*S + s)*ld + i*ohow].
func (g *geom) im2colChunk(m, ld int, x, cols []float32) {
	if g.direct {
		gatherRows(m, g.C, g.hw, ld, x, cols)
		return
	}
	rs := g.R * g.S
	parallel.For(g.C, ceilDiv(g.C, 2*parallel.Workers()), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			for i := range m {
				plane := x[(i*g.C+ch)*g.hw : (i*g.C+ch+1)*g.hw]
				for r := range g.R {
					for s := range g.S {
						row := (ch*rs + r*g.S + s) * ld
						g.im2colRow(cols[row+i*g.ohow:row+(i+1)*g.ohow], plane, r, s, 0)
					}
				}
			}
		}
	})
}

// col2imChunk is the adjoint of im2colChunk: it overwrites the m images'
// planes of dx with the sums of their rows.
func (g *geom) col2imChunk(m, ld int, cols, dx []float32) {
	rs := g.R * g.S
	parallel.For(g.C, ceilDiv(g.C, 2*parallel.Workers()), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			for i := range m {
				plane := dx[(i*g.C+ch)*g.hw : (i*g.C+ch+1)*g.hw]
				if g.direct {
					copy(plane, cols[ch*ld+i*g.ohow:ch*ld+(i+1)*g.ohow])
					continue
				}
				clear(plane)
				for r := range g.R {
					for s := range g.S {
						row := (ch*rs + r*g.S + s) * ld
						g.col2imRow(cols[row+i*g.ohow:row+(i+1)*g.ohow], plane, r, s, 0)
					}
				}
			}
		}
	})
}

// transposed returns, for a stride-1 convolution that is not a plain GEMM,
// the convolution whose forward pass is its data gradient: dy convolved,
// with padding R-1-PadH, by the weights flipped and with input and output
// channels swapped (per group). Then BackwardData runs on the fast forward
// kernels.
func transposed(p Params) (Params, bool) {
	g := newGeom(p)
	// Small images: packing the flipped weights every call costs more than
	// it saves (BenchmarkBackward, 256 channels at 14x14).
	if g.direct || g.ohow < 512 || p.StrideH != 1 || p.StrideW != 1 || p.PadH > p.R-1 || p.PadW > p.S-1 {
		return Params{}, false
	}
	tp := Params{N: p.N, C: p.K, H: g.oh, W: g.ow, K: p.C, R: p.R, S: p.S,
		StrideH: 1, StrideW: 1, PadH: p.R - 1 - p.PadH, PadW: p.S - 1 - p.PadW, Groups: p.Groups}
	// Its padded input can exceed the limits p was checked against (a
	// kernel nearly as large as the image); the GEMM path then remains.
	return tp, tp.Validate() == nil
}

// flipWeights writes the transposed convolution's weights: for each group,
// wt[c][k][r][s] = w[k][c][R-1-r][S-1-s].
func flipWeights(p Params, w, wt []float32) {
	g := newGeom(p)
	rs := p.R * p.S
	for grp := range p.Groups {
		for k := range g.kg {
			for c := range g.cg {
				src := w[((grp*g.kg+k)*g.cg+c)*rs:][:rs]
				dst := wt[((grp*g.cg+c)*g.kg+k)*rs:][:rs]
				for i, v := range src {
					dst[rs-1-i] = v
				}
			}
		}
	}
}

// BackwardData sets dx to the gradient of sum(y*dy) with respect to x for
// y = conv(x, w) (no epilogue: the caller takes it apart first). Stride-1
// convolutions run the transposed convolution forward; the others compute,
// per image, dcol = W_g^T * dy_g by GEMM, then col2im sums dcol into dx.
func BackwardData(p Params, dy, w, dx, ws []float32) {
	g := mustValid(p)
	checkLen("dy", dy, p.N*p.K*g.ohow)
	checkLen("w", w, p.K*g.kdim)
	checkLen("dx", dx, p.N*p.C*g.hw)
	checkLen("workspace", ws, BackwardWorkspaceSize(p))
	if tp, ok := transposed(p); ok {
		flipWeights(p, w, ws[:p.K*g.kdim])
		Forward(tp, dy, ws[:p.K*g.kdim], dx, nil, ws[p.K*g.kdim:])
		return
	}
	if m := g.backwardChunk(p.N); m > 1 {
		g.backwardDataChunks(m, dy, w, dx, ws)
		return
	}
	workers := parallel.Workers()
	if g.direct {
		tc, nct := g.gemmTiles(p.N*p.Groups, workers)
		parallel.For(p.N*p.Groups*nct, 1, func(lo, hi int) {
			for t := lo; t < hi; t++ {
				col0 := t % nct * tc
				grp, img := t/nct%p.Groups, t/nct/p.Groups
				n := min(tc, g.ohow-col0)
				sgemm.Sgemm(true, false, g.cg, n, g.kg, 1, w[grp*g.kg*g.kdim:], g.kdim,
					dy[(img*p.K+grp*g.kg)*g.ohow+col0:], g.ohow, 0,
					dx[(img*p.C+grp*g.cg)*g.hw+col0:], g.hw)
			}
		})
		return
	}
	tc, nct := g.gemmTiles(p.Groups, workers)
	rs := p.R * p.S * g.ohow
	for img := range p.N {
		parallel.For(p.Groups*nct, 1, func(lo, hi int) {
			for t := lo; t < hi; t++ {
				col0, grp := t%nct*tc, t/nct
				n := min(tc, g.ohow-col0)
				sgemm.Sgemm(true, false, g.kdim, n, g.kg, 1, w[grp*g.kg*g.kdim:], g.kdim,
					dy[(img*p.K+grp*g.kg)*g.ohow+col0:], g.ohow, 0,
					ws[grp*g.kdim*g.ohow+col0:], g.ohow)
			}
		})
		parallel.For(p.C, ceilDiv(p.C, 2*workers), func(lo, hi int) {
			for c := lo; c < hi; c++ {
				g.col2imPlane(ws[c*rs:(c+1)*rs], dx[(img*p.C+c)*g.hw:(img*p.C+c+1)*g.hw])
			}
		})
	}
}

// BackwardFilter sets dw to the gradient of sum(y*dy) with respect to w,
// summed over the batch: dW_g += dy_g * col_g^T, images taken in chunks
// (backwardFilterChunks).
func BackwardFilter(p Params, x, dy, dw, ws []float32) {
	g := mustValid(p)
	checkLen("x", x, p.N*p.C*g.hw)
	checkLen("dy", dy, p.N*p.K*g.ohow)
	checkLen("dw", dw, p.K*g.kdim)
	checkLen("workspace", ws, BackwardWorkspaceSize(p))
	g.backwardFilterChunks(g.backwardChunk(p.N), x, dy, dw, ws)
}

// BackwardBias sets db[k] to the sum of dy over the batch and positions of
// output channel k (the gradient of a per-channel bias or BN shift).
func BackwardBias(p Params, dy, db []float32) {
	g := mustValid(p)
	checkLen("dy", dy, p.N*p.K*g.ohow)
	checkLen("db", db, p.K)
	parallel.For(p.K, 0, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			var sum float64
			for n := range p.N {
				for _, v := range dy[(n*p.K+k)*g.ohow : (n*p.K+k+1)*g.ohow] {
					sum += float64(v)
				}
			}
			db[k] = float32(sum)
		}
	})
}

// backwardDataChunks is BackwardData for m images at a time: one product
// per group for the chunk's output gradients side by side, then col2im.
func (g *geom) backwardDataChunks(m int, dy, w, dx, ws []float32) {
	for img0 := 0; img0 < g.N; img0 += m {
		mm := min(m, g.N-img0)
		ld := mm * g.ohow
		dcol, dyb := ws[:g.C*g.R*g.S*ld], ws[g.C*g.R*g.S*ld:][:g.K*ld]
		gatherRows(mm, g.K, g.ohow, ld, dy[img0*g.K*g.ohow:], dyb)
		// sgemm splits each product over the workers itself.
		for grp := range g.Groups {
			sgemm.Sgemm(true, false, g.kdim, ld, g.kg, 1, w[grp*g.kg*g.kdim:], g.kdim,
				dyb[grp*g.kg*ld:], ld, 0, dcol[grp*g.kdim*ld:], ld)
		}
		g.col2imChunk(mm, ld, dcol, dx[img0*g.C*g.hw:])
	}
}

// backwardFilterChunks is BackwardFilter for m images at a time: one
// product per group over the chunk's im2col rows side by side. It computes
// dW^T = cols * dy^T, so that the wide im2col rows are the product's A
// operand, packed along their rows, and the output gradients, transposed
// once here, are a B the kernels read in place: as a transposed operand
// every block of rows packed all of it again. dW^T sums the chunks in the
// workspace.
func (g *geom) backwardFilterChunks(m int, x, dy, dw, ws []float32) {
	acc := ws[g.chunkFloats(m):][:g.K*g.kdim]
	for img0 := 0; img0 < g.N; img0 += m {
		mm := min(m, g.N-img0)
		ld := mm * g.ohow
		cols, dyt := ws[:g.C*g.R*g.S*ld], ws[g.C*g.R*g.S*ld:][:g.K*ld]
		g.im2colChunk(mm, ld, x[img0*g.C*g.hw:], cols)
		gatherColumns(mm, g.K, g.kg, g.ohow, dy[img0*g.K*g.ohow:], dyt)
		beta := float32(1)
		if img0 == 0 {
			beta = 0
		}
		for grp := range g.Groups {
			sgemm.Sgemm(false, false, g.kdim, g.kg, ld, 1, cols[grp*g.kdim*ld:], ld,
				dyt[grp*ld*g.kg:], g.kg, beta, acc[grp*g.kdim*g.kg:], g.kg)
		}
	}
	for grp := range g.Groups {
		t, d := acc[grp*g.kdim*g.kg:], dw[grp*g.kg*g.kdim:]
		for k := range g.kg {
			for j := range g.kdim {
				d[k*g.kdim+j] = t[j*g.kg+k]
			}
		}
	}
}
