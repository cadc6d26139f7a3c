package ops

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/dla-go/dla/internal/kernel/kerneltest"
	"github.com/dla-go/dla/internal/kernel/parallel"
)

type shape struct{ n, c, h, w int }

// oddShapes crosses the brief's odd sizes (a diagonal sample, plus the DLA
// pooling/BN sizes at reduced resolution).
func oddShapes() []shape {
	ns, cs, hs := []int{1, 2, 3}, []int{1, 3, 7, 13, 16, 31, 33}, []int{1, 5, 7, 13, 17, 31}
	var out []shape
	for i, c := range cs {
		for j, h := range hs {
			out = append(out, shape{ns[(i+j)%3], c, h, hs[(i+2*j+1)%len(hs)]})
		}
	}
	return append(out, shape{1, 64, 56, 56}, shape{2, 128, 28, 28}, shape{1, 512, 7, 7}, shape{1, 3, 9, 65})
}

// withWorkers runs fn on one, two and three workers.
func withWorkers(fn func()) {
	for _, w := range []int{1, 2, 3} {
		old := parallel.SetWorkers(w)
		fn()
		parallel.SetWorkers(old)
	}
}

func TestBatchNormTrainMatchesRef(t *testing.T) {
	for i, s := range oddShapes() {
		n, c, hw := s.n, s.c, s.h*s.w
		x := kerneltest.Rand(n*c*hw, uint64(i))
		for j := range x { // an offset mean, as real activations have
			x[j] = 3*x[j] + 2
		}
		gamma, beta := kerneltest.Rand(c, 1), kerneltest.Rand(c, 2)
		rm0, rv0 := kerneltest.Rand(c, 3), kerneltest.Rand(c, 4)
		for j := range rv0 {
			rv0[j] = 1 + rv0[j]*rv0[j]
		}
		x0 := slices.Clone(x)
		want := make([]float32, len(x))
		wm, wi, wrm, wrv := make([]float32, c), make([]float32, c), slices.Clone(rm0), slices.Clone(rv0)
		BatchNormTrainRef(n, c, hw, x, gamma, beta, want, wm, wi, wrm, wrv, BNMomentum, 1e-5)
		dy := kerneltest.Rand(n*c*hw, 9)
		wdx, wdg, wdb := make([]float32, len(x)), make([]float32, c), make([]float32, c)
		BatchNormBackwardRef(n, c, hw, x, dy, gamma, wm, wi, wdx, wdg, wdb)
		withWorkers(func() {
			y, check := kerneltest.Guarded(len(x), nil)
			m, is, rm, rv := make([]float32, c), make([]float32, c), slices.Clone(rm0), slices.Clone(rv0)
			BatchNormTrain(n, c, hw, x, gamma, beta, y, m, is, rm, rv, BNMomentum, 1e-5)
			check(t)
			kerneltest.Unchanged(t, "x", x, x0)
			name := fmt.Sprintf("%+v", s)
			for _, pair := range [][2][]float32{{y, want}, {m, wm}, {is, wi}, {rm, wrm}, {rv, wrv}} {
				kerneltest.CheckNMSE(t, name, pair[0], pair[1], 0)
			}
			dx, checkDx := kerneltest.Guarded(len(x), nil)
			dg, db := make([]float32, c), make([]float32, c)
			BatchNormBackward(n, c, hw, x, dy, gamma, m, is, dx, dg, db)
			checkDx(t)
			for _, pair := range [][2][]float32{{dx, wdx}, {dg, wdg}, {db, wdb}} {
				kerneltest.CheckNMSE(t, "backward "+name, pair[0], pair[1], 0)
			}
		})
		// The statistics themselves, against float64 sums.
		cnt := float64(n * hw)
		for ch := range c {
			var sum, sq float64
			for img := range n {
				for _, v := range x[(img*c+ch)*hw : (img*c+ch+1)*hw] {
					sum += float64(v)
				}
			}
			mean := sum / cnt
			for img := range n {
				for _, v := range x[(img*c+ch)*hw : (img*c+ch+1)*hw] {
					sq += (float64(v) - mean) * (float64(v) - mean)
				}
			}
			unbiased := sq / cnt
			if cnt > 1 {
				unbiased = sq / (cnt - 1)
			}
			checkClose(t, "mean", float64(wm[ch]), mean)
			checkClose(t, "invstd", float64(wi[ch]), 1/math.Sqrt(sq/cnt+1e-5))
			checkClose(t, "running mean", float64(wrm[ch]), 0.9*float64(rm0[ch])+0.1*mean)
			checkClose(t, "running var", float64(wrv[ch]), 0.9*float64(rv0[ch])+0.1*unbiased)
		}
	}
}

func checkClose(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-6*max(1, math.Abs(want)) {
		t.Fatalf("%s: got %g, want %g", name, got, want)
	}
}

func TestFoldAndScaleShift(t *testing.T) {
	s := shape{2, 13, 5, 7}
	n, c, hw := s.n, s.c, s.h*s.w
	gamma, beta, mean := kerneltest.Rand(c, 1), kerneltest.Rand(c, 2), kerneltest.Rand(c, 3)
	variance := kerneltest.Rand(c, 4)
	for i := range variance {
		variance[i] = variance[i] * variance[i]
	}
	scale, shift := make([]float32, c), make([]float32, c)
	FoldBN(gamma, beta, mean, variance, 1e-5, scale, shift)
	x := kerneltest.Rand(n*c*hw, 5)
	want := make([]float32, len(x))
	for i, v := range x {
		ch := i / hw % c
		want[i] = float32((float64(v)-float64(mean[ch]))/math.Sqrt(float64(variance[ch])+1e-5)*float64(gamma[ch]) + float64(beta[ch]))
	}
	withWorkers(func() {
		y, check := kerneltest.Guarded(len(x), nil)
		ScaleShift(n, c, hw, x, scale, shift, y)
		check(t)
		kerneltest.CheckNMSE(t, "folded batch norm", y, want, 1e-12)
	})
}

func TestMaxPoolMatchesRef(t *testing.T) {
	for i, s := range oddShapes() {
		x := kerneltest.Rand(s.n*s.c*s.h*s.w, uint64(i))
		x0 := slices.Clone(x)
		for _, k := range []int{1, 2, 3} {
			oh, ow := s.h/k, s.w/k
			want := make([]float32, s.n*s.c*oh*ow)
			MaxPoolRef(s.n, s.c, s.h, s.w, k, x, want)
			dy := kerneltest.Rand(len(want), 3)
			withWorkers(func() {
				y, check := kerneltest.Guarded(len(want), nil)
				MaxPool(s.n, s.c, s.h, s.w, k, x, y)
				check(t)
				kerneltest.Unchanged(t, "x", x, x0)
				kerneltest.CheckNMSE(t, fmt.Sprintf("%+v k=%d", s, k), y, want, 0)
				dx, checkDx := kerneltest.Guarded(len(x), kerneltest.Rand(len(x), 4))
				MaxPoolBackward(s.n, s.c, s.h, s.w, k, x, dy, dx)
				checkDx(t)
				// Every dy lands once, on its window's first maximum.
				wantDx := make([]float32, len(x))
				for p := range s.n * s.c {
					plane := x[p*s.h*s.w : (p+1)*s.h*s.w]
					for i := range oh {
						for j := range ow {
							wantDx[p*s.h*s.w+argmaxWindow(plane, s.w, k, i, j)] = dy[(p*oh+i)*ow+j]
						}
					}
				}
				kerneltest.CheckNMSE(t, fmt.Sprintf("%+v k=%d backward", s, k), dx, wantDx, 0)
			})
		}
	}
}

func TestMaxPoolTiesAndNaN(t *testing.T) {
	nan := float32(math.NaN())
	x := []float32{1, 1, 0, nan, 1, 0, 3, 4} // windows {1,1,1,0} and {0,NaN,3,4}
	y := make([]float32, 2)
	MaxPool(1, 1, 2, 4, 2, x, y)
	if y[0] != 1 || y[1] == y[1] {
		t.Fatalf("MaxPool = %v, want [1 NaN]", y)
	}
	dx := make([]float32, 8)
	MaxPoolBackward(1, 1, 2, 4, 2, x, []float32{5, 6}, dx)
	if want := []float32{5, 0, 0, 6, 0, 0, 0, 0}; !slices.Equal(dx, want) {
		t.Fatalf("MaxPoolBackward = %v, want %v (first max, NaN wins)", dx, want)
	}
}

// A NaN anywhere in a window, in whole vectors or the tail, gives a NaN
// and leaves the other windows alone.
func TestMaxPoolNaNLanes(t *testing.T) {
	const w = 70 // 35 outputs a row: two vectors and a tail of 3
	for pos := range 2 * w {
		x := kerneltest.Rand(2*w, 1)
		x[pos] = float32(math.NaN())
		want, got := make([]float32, w/2), make([]float32, w/2)
		MaxPoolRef(1, 1, 2, w, 2, x, want)
		MaxPool(1, 1, 2, w, 2, x, got)
		for j := range got {
			if wn, gn := want[j] != want[j], got[j] != got[j]; wn != gn || !wn && got[j] != want[j] {
				t.Fatalf("NaN at %d: output %d = %v, want %v", pos, j, got[j], want[j])
			}
		}
	}
}

func TestConcatRoundTrip(t *testing.T) {
	n, hw := 3, 7
	chans := []int{2, 5, 1}
	var inputs [][]float32
	for i, c := range chans {
		inputs = append(inputs, kerneltest.Rand(n*c*hw, uint64(i)))
	}
	y, check := kerneltest.Guarded(n*8*hw, nil)
	Concat(n, hw, inputs, chans, y)
	check(t)
	for img := range n {
		off := 0
		for i, c := range chans {
			got := y[(img*8+off)*hw : (img*8+off+c)*hw]
			if !slices.Equal(got, inputs[i][img*c*hw:(img+1)*c*hw]) {
				t.Fatalf("image %d input %d misplaced", img, i)
			}
			off += c
		}
	}
	back := make([][]float32, len(chans))
	for i, c := range chans {
		back[i] = make([]float32, n*c*hw)
	}
	ConcatBackward(n, hw, y, chans, back)
	for i := range chans {
		if !slices.Equal(back[i], inputs[i]) {
			t.Fatalf("split %d differs", i)
		}
	}
}

func TestEltwise(t *testing.T) {
	for _, size := range []int{0, 1, 17, 3*grain + 5} {
		a, b := kerneltest.Rand(size, 1), kerneltest.Rand(size, 2)
		withWorkers(func() {
			y, check := kerneltest.Guarded(size, nil)
			ReLU(a, y)
			check(t)
			for i, v := range a {
				if y[i] != max(v, 0) {
					t.Fatalf("ReLU[%d]", i)
				}
			}
			dx, checkDx := kerneltest.Guarded(size, nil)
			ReLUBackward(y, b, dx)
			checkDx(t)
			for i := range dx {
				if want := map[bool]float32{true: b[i], false: 0}[a[i] > 0]; dx[i] != want {
					t.Fatalf("ReLUBackward[%d]", i)
				}
			}
			s, checkS := kerneltest.Guarded(size, nil)
			Add(a, b, s)
			checkS(t)
			for i := range s {
				if s[i] != a[i]+b[i] {
					t.Fatalf("Add[%d]", i)
				}
			}
		})
	}
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	n, classes := 3, 7
	logits := kerneltest.Rand(n*classes, 1)
	for i := range logits {
		logits[i] *= 20 // large logits: the max shift must keep exp finite
	}
	labels := []int{0, 6, 3}
	loss, err := SoftmaxCrossEntropy(n, classes, logits, labels, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	for i := range n {
		row := to64(logits[i*classes : (i+1)*classes])
		m := slices.Max(row)
		var s float64
		for _, v := range row {
			s += math.Exp(v - m)
		}
		want += (m + math.Log(s) - row[labels[i]]) / float64(n)
	}
	checkClose(t, "loss", loss, want)
	probs := make([]float32, n*classes)
	Softmax(n, classes, logits, probs)
	for i := range n {
		var s float64
		for _, v := range probs[i*classes : (i+1)*classes] {
			s += float64(v)
		}
		checkClose(t, "softmax row sum", s, 1)
	}
	for _, bad := range [][]int{{0, 7, 1}, {-1, 0, 0}, {1}} {
		if _, err := SoftmaxCrossEntropy(n, classes, logits, bad, 0, nil); err == nil {
			t.Errorf("labels %v accepted", bad)
		}
	}
}

func TestSwapAxes(t *testing.T) {
	a, b, hw := 3, 5, 7
	src := kerneltest.Rand(a*b*hw, 1)
	dst := make([]float32, len(src))
	SwapAxes(a, b, hw, src, dst)
	for i := range a {
		for j := range b {
			for p := range hw {
				if dst[(j*a+i)*hw+p] != src[(i*b+j)*hw+p] {
					t.Fatalf("[%d][%d][%d] misplaced", i, j, p)
				}
			}
		}
	}
	back := make([]float32, len(src))
	SwapAxes(b, a, hw, dst, back)
	for i := range src {
		if back[i] != src[i] {
			t.Fatal("swapping twice is not the identity")
		}
	}
}

func TestPositiveMask(t *testing.T) {
	for _, c := range []struct {
		v    float32
		want uint32
	}{{1, ^uint32(0)}, {1e-45, ^uint32(0)}, {float32(math.Inf(1)), ^uint32(0)}, {0, 0}, {float32(math.Copysign(0, -1)), 0},
		{-1, 0}, {float32(math.Inf(-1)), 0}, {float32(math.NaN()), 0}, {-float32(math.NaN()), 0}} {
		if got := positiveMask(c.v); got != c.want {
			t.Errorf("positiveMask(%v) = %#x, want %#x", c.v, got, c.want)
		}
	}
}

// The fused BatchNorm+ReLU passes equal BatchNorm then ReLU exactly.
func TestBatchNormReLUFused(t *testing.T) {
	n, c, hw := 3, 5, 11
	x, gamma, beta, dy := kerneltest.Rand(n*c*hw, 1), kerneltest.Rand(c, 2), kerneltest.Rand(c, 3), kerneltest.Rand(n*c*hw, 4)
	run := func(fused bool) (y, dx, dg, db []float32) {
		y, dx, dg, db = make([]float32, n*c*hw), make([]float32, n*c*hw), make([]float32, c), make([]float32, c)
		m, is, rm, rv := make([]float32, c), make([]float32, c), make([]float32, c), make([]float32, c)
		if fused {
			BatchNormReLUTrain(n, c, hw, x, gamma, beta, y, m, is, rm, rv, BNMomentum, 1e-5)
			BatchNormReLUBackward(n, c, hw, x, y, dy, gamma, m, is, dx, dg, db)
			return
		}
		BatchNormTrain(n, c, hw, x, gamma, beta, y, m, is, rm, rv, BNMomentum, 1e-5)
		ReLU(y, y)
		d := make([]float32, len(dy))
		ReLUBackward(y, dy, d)
		BatchNormBackward(n, c, hw, x, d, gamma, m, is, dx, dg, db)
		return
	}
	y1, dx1, dg1, db1 := run(false)
	y2, dx2, dg2, db2 := run(true)
	for _, p := range [][2][]float32{{y1, y2}, {dx1, dx2}, {dg1, dg2}, {db1, db2}} {
		kerneltest.CheckNMSE(t, "fused batch norm", p[1], p[0], 0)
	}
}

// The fused BatchNorm+ReLU passes on odd shapes, whose planes run the
// vector kernels and their scalar tails, equal the serial definitions.
func TestBatchNormReLUMatchesRef(t *testing.T) {
	for i, s := range oddShapes() {
		n, c, hw := s.n, s.c, s.h*s.w
		x, gamma, beta, dy := kerneltest.Rand(n*c*hw, uint64(i)), kerneltest.Rand(c, 2), kerneltest.Rand(c, 3), kerneltest.Rand(n*c*hw, 4)
		want, wm, wi := make([]float32, len(x)), make([]float32, c), make([]float32, c)
		BatchNormTrainRef(n, c, hw, x, gamma, beta, want, wm, wi, make([]float32, c), make([]float32, c), BNMomentum, 1e-5)
		for j, v := range want {
			want[j] = max(v, 0)
		}
		d := make([]float32, len(dy))
		ReLUBackward(want, dy, d)
		wdx, wdg, wdb := make([]float32, len(x)), make([]float32, c), make([]float32, c)
		BatchNormBackwardRef(n, c, hw, x, d, gamma, wm, wi, wdx, wdg, wdb)

		y, m, is := make([]float32, len(x)), make([]float32, c), make([]float32, c)
		BatchNormReLUTrain(n, c, hw, x, gamma, beta, y, m, is, make([]float32, c), make([]float32, c), BNMomentum, 1e-5)
		dx, dg, db := make([]float32, len(x)), make([]float32, c), make([]float32, c)
		BatchNormReLUBackward(n, c, hw, x, y, dy, gamma, m, is, dx, dg, db)
		name := fmt.Sprintf("%+v", s)
		for _, p := range [][2][]float32{{y, want}, {dx, wdx}, {dg, wdg}, {db, wdb}} {
			kerneltest.CheckNMSE(t, name, p[0], p[1], 0)
		}
	}
}
