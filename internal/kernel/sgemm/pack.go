package sgemm

import (
	"math/bits"

	"github.com/dla-go/dla/internal/kernel/freelist"
	"github.com/dla-go/dla/internal/kernel/parallel"
)

// Packed A holds, for each KC slice [p0, p0+kc) of k, the MR-row panels of A
// one after another, each stored k-major (panel[p*MR+r]); rows past m are
// zero. The panel of rows [i, i+MR) of slice p0 starts at p0*mPad + i*kc.
func packedALen(v *variant, m, k int) int { return roundUp(m, v.p.MR) * k }

// packA writes alpha*op(A) into dst in the packed layout, one group of
// panels per worker.
func packA(v *variant, dst []float32, transA bool, m, k int, alpha float32, a []float32, lda int) {
	mr, kcMax := v.p.MR, v.p.KC
	mPad := roundUp(m, mr)
	panels := mPad / mr
	grain := max(1, (1<<16)/(mr*k)) // about 256 KiB of A per chunk
	parallel.For(panels, grain, func(lo, hi int) {
		for pan := lo; pan < hi; pan++ {
			i := pan * mr
			rows := min(mr, m-i)
			for p0 := 0; p0 < k; p0 += kcMax {
				kc := min(kcMax, k-p0)
				out := dst[p0*mPad+i*kc : p0*mPad+(i+mr)*kc]
				if rows < mr {
					clear(out)
				}
				if transA {
					for p := range kc {
						src := a[(p0+p)*lda+i : (p0+p)*lda+i+rows]
						o := out[p*mr : p*mr+rows]
						for r, x := range src {
							o[r] = alpha * x
						}
					}
					continue
				}
				done := 0
				if rows == mr && v.pack != nil {
					done = v.pack(out, a[i*lda+p0:], lda, kc, alpha)
				}
				for r := range rows {
					src := a[(i+r)*lda+p0+done : (i+r)*lda+p0+kc]
					for p, x := range src {
						out[(done+p)*mr+r] = alpha * x
					}
				}
			}
		}
	})
}

// packB writes columns [j0, j1) of rows [p0, p0+kc) of op(B) into dst as
// NR-wide panels, each kc x NR row-major; columns past j1 are zero.
func packB(dst []float32, nr int, transB bool, b []float32, ldb int, p0, kc, j0, j1 int) {
	for j := j0; j < j1; j += nr {
		cols := min(nr, j1-j)
		out := dst[(j-j0)*kc : (j-j0+nr)*kc]
		if cols < nr {
			clear(out)
		}
		if transB {
			for c := range cols {
				src := b[(j+c)*ldb+p0 : (j+c)*ldb+p0+kc]
				for p, x := range src {
					out[p*nr+c] = x
				}
			}
			continue
		}
		if cols == 16 && nr == 16 {
			// An array assignment copies inline; copy would call
			// memmove for each 64-byte row.
			for p := range kc {
				*(*[16]float32)(out[p*16:]) = *(*[16]float32)(b[(p0+p)*ldb+j:])
			}
			continue
		}
		for p := range kc {
			copy(out[p*nr:p*nr+cols], b[(p0+p)*ldb+j:(p0+p)*ldb+j+cols])
		}
	}
}

// buffer is a reused scratch slice; lists are kept per power-of-two size so
// that calls of different shapes do not keep replacing each other's buffers.
type buffer struct{ s []float32 }

var buffers [48]freelist.List[buffer]

// keptBytes bounds the memory kept for good per size class (at least two
// buffers are); buffers beyond it go to the collector when idle.
const keptBytes = 16 << 20

func init() {
	for class := range buffers {
		buffers[class] = freelist.List[buffer]{
			New: func() *buffer { return &buffer{s: make([]float32, 0, 1<<class)} },
			Max: max(2, min(freelist.MaxSmall, keptBytes>>(class+2))),
		}
	}
}

func getBuf(n int) *buffer {
	b := buffers[bits.Len(uint(n))].Get()
	b.s = b.s[:n]
	return b
}

func putBuf(b *buffer) { buffers[bits.Len(uint(cap(b.s)))-1].Put(b) }
