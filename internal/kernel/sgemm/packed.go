package sgemm

const errEpilogue = "sgemm: epilogue slice too short"

// Epilogue is applied to each finished element of C:
// c = c*Scale[row] + Shift[row] + Residual[row*ResidualLd+col], then max(0,c)
// if ReLU. Nil slices are skipped. It fuses BatchNorm, bias, a residual add
// and ReLU into a convolution while its output tile is still in cache.
// Residual must not overlap C: C is written before the epilogue reads it.
type Epilogue struct {
	Scale, Shift []float32
	Residual     []float32
	ResidualLd   int
	ReLU         bool
}

// PackedA is a matrix A (typically convolution weights: m output channels by
// k = Cin*kh*kw) packed once for repeated products. It is read-only after
// PackA, so any number of goroutines may call Mul at once.
type PackedA struct {
	v    *variant // the tier it was packed for; Mul uses the same one
	m, k int
	data []float32
}

// PackA packs op(A), m x k (stored k x m when transA), with row stride lda.
func PackA(transA bool, m, k int, a []float32, lda int) *PackedA {
	if m < 0 || k < 0 {
		panic(errShape)
	}
	checkMatrix(transA, m, k, a, lda, errLda, errLenA)
	v := active.Load()
	pa := &PackedA{v: v, m: m, k: k, data: make([]float32, packedALen(v, m, k))}
	if m > 0 && k > 0 {
		packA(v, pa.data, transA, m, k, 1, a, lda)
	}
	return pa
}

// Repack packs a new op(A) of the same size into p's memory (training
// changes the weights of a plan every step; this spares the allocation).
func (p *PackedA) Repack(transA bool, a []float32, lda int) {
	checkMatrix(transA, p.m, p.k, a, lda, errLda, errLenA)
	if p.m > 0 && p.k > 0 {
		packA(p.v, p.data, transA, p.m, p.k, 1, a, lda)
	}
}

// M is the number of rows of A (and of C).
func (p *PackedA) M() int { return p.m }

// K is the number of columns of A (and rows of B).
func (p *PackedA) K() int { return p.k }

// Mul computes C = A*B, overwriting C, then applies epi (which may be nil).
// B is k x n with row stride ldb, C is m x n with row stride ldc. It does not
// allocate in steady state.
func (p *PackedA) Mul(n int, b []float32, ldb int, c []float32, ldc int, epi *Epilogue) {
	if n < 0 {
		panic(errShape)
	}
	checkMatrix(false, p.k, n, b, ldb, errLdb, errLenB)
	checkMatrix(false, p.m, n, c, ldc, errLdc, errLenC)
	epi.check(p.m, n)
	if p.m == 0 || n == 0 {
		return
	}
	if p.k == 0 {
		scaleC(p.m, n, 0, c, ldc)
		if epi != nil {
			epi.apply(p.v.epi, 0, p.m, 0, n, c, ldc)
		}
		return
	}
	run(p.v, p.m, n, p.k, p.data, false, b, ldb, 0, c, ldc, epi)
}

// MulSerial is Mul without an epilogue, computed on the calling goroutine
// only: a caller that has already split its work over the cores (Winograd's
// tile blocks) keeps each product on the core that holds its B and C.
func (p *PackedA) MulSerial(n int, b []float32, ldb int, c []float32, ldc int) {
	if n < 0 {
		panic(errShape)
	}
	checkMatrix(false, p.k, n, b, ldb, errLdb, errLenB)
	checkMatrix(false, p.m, n, c, ldc, errLdc, errLenC)
	if p.m == 0 || n == 0 {
		return
	}
	if p.k == 0 {
		scaleC(p.m, n, 0, c, ldc)
		return
	}
	var j job
	j.init(p.v, p.m, n, p.k, p.data, false, b, ldb, 0, c, ldc, nil, 1)
	j.Run(0, ceilDiv(p.m, j.mb)*j.colBlocks)
}

// MulRef is the reference for PackedA.Mul: C = op(A)*B by SgemmRef, then
// EpilogueRef.
func MulRef(transA bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, epi *Epilogue) {
	SgemmRef(transA, false, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
	EpilogueRef(m, n, c, ldc, epi)
}

// EpilogueRef applies epi (nil: nothing) to the m x n matrix c element by element.
func EpilogueRef(m, n int, c []float32, ldc int, epi *Epilogue) {
	if epi == nil {
		return
	}
	epi.check(m, n)
	for i := range m {
		for j := range n {
			v := c[i*ldc+j]
			if epi.Scale != nil {
				v *= epi.Scale[i]
			}
			if epi.Shift != nil {
				v += epi.Shift[i]
			}
			if epi.Residual != nil {
				v += epi.Residual[i*epi.ResidualLd+j]
			}
			if epi.ReLU && !(v > 0) {
				v = 0
			}
			c[i*ldc+j] = v
		}
	}
}

// check panics unless every non-nil slice of e covers an m x n output.
func (e *Epilogue) check(m, n int) {
	if e == nil || m == 0 || n == 0 {
		return
	}
	if e.Scale != nil && len(e.Scale) < m || e.Shift != nil && len(e.Shift) < m {
		panic(errEpilogue)
	}
	if e.Residual != nil {
		if e.ResidualLd < n {
			panic("sgemm: epilogue ResidualLd too small")
		}
		if len(e.Residual) < (m-1)*e.ResidualLd+n {
			panic(errEpilogue)
		}
	}
}

// apply runs the epilogue on rows [i0, i1) and columns [j0, j1) of c, a row
// segment at a time through f.
func (e *Epilogue) apply(f rowEpilogue, i0, i1, j0, j1 int, c []float32, ldc int) {
	for i := i0; i < i1; i++ {
		row := c[i*ldc+j0 : i*ldc+j1]
		scale, shift := float32(1), float32(0)
		if e.Scale != nil {
			scale = e.Scale[i]
		}
		if e.Shift != nil {
			shift = e.Shift[i]
		}
		var res []float32
		if e.Residual != nil {
			res = e.Residual[i*e.ResidualLd+j0 : i*e.ResidualLd+j1]
		}
		f(row, scale, shift, res, e.ReLU)
	}
}

// epilogueRow is the epilogue on one row segment; res is nil or len(row) long.
func epilogueRow(row []float32, scale, shift float32, res []float32, relu bool) {
	if res != nil {
		res = res[:len(row)]
		for x, v := range row {
			row[x] = v*scale + shift + res[x]
		}
	} else {
		for x, v := range row {
			row[x] = v*scale + shift
		}
	}
	if relu {
		for x, v := range row {
			if !(v > 0) {
				row[x] = 0
			}
		}
	}
}
