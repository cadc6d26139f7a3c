package parallel

import (
	"sync/atomic"
	"testing"
)

func TestForCoversEachIndexOnce(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 8} {
		old := SetWorkers(workers)
		for _, n := range []int{1, 2, 7, 31, 1000} {
			for _, grain := range []int{0, 1, 3, 64} {
				hits := make([]atomic.Int32, n)
				For(n, grain, func(lo, hi int) {
					if grain > 0 && hi-lo > grain {
						t.Errorf("range [%d,%d) longer than grain %d", lo, hi, grain)
					}
					for i := lo; i < hi; i++ {
						hits[i].Add(1)
					}
				})
				for i := range hits {
					if hits[i].Load() != 1 {
						t.Fatalf("workers %d n %d grain %d: index %d run %d times", workers, n, grain, i, hits[i].Load())
					}
				}
			}
		}
		SetWorkers(old)
	}
}

func TestNestedForFinishes(t *testing.T) {
	old := SetWorkers(2)
	defer SetWorkers(old)
	var total atomic.Int64
	For(8, 1, func(lo, hi int) {
		For(100, 7, func(lo, hi int) { total.Add(int64(hi - lo)) })
	})
	if total.Load() != 800 {
		t.Fatalf("nested total %d, want 800", total.Load())
	}
}

type sumTask struct{ total atomic.Int64 }

func (s *sumTask) Run(lo, hi int) { s.total.Add(int64(hi - lo)) }

func TestRunAllocatesNothing(t *testing.T) {
	old := SetWorkers(2)
	defer SetWorkers(old)
	task := &sumTask{}
	Run(100, 10, task)
	if a := testing.AllocsPerRun(50, func() { Run(100, 10, task) }); a != 0 {
		t.Errorf("Run allocated %.1f times per call", a)
	}
	if got := task.total.Load(); got != 100*52 {
		t.Errorf("covered %d indices, want %d", got, 100*52)
	}
}

func BenchmarkRunOverhead(b *testing.B) {
	task := &sumTask{}
	for b.Loop() {
		Run(2, 1, task)
	}
}

type spinTask struct{ sink [2]float64 }

func (s *spinTask) Run(lo, hi int) {
	for i := lo; i < hi; i++ {
		x := 1.0
		for range 20000 {
			x = x*1.0000001 + 1e-9
		}
		s.sink[i%2] = x
	}
}

// BenchmarkHandOff is two chunks of about 20 µs each: the time above 20 µs
// is what handing one chunk to a pool worker costs.
func BenchmarkHandOff(b *testing.B) {
	task := &spinTask{}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			task.Run(0, 1)
		}
	})
	b.Run("pool", func(b *testing.B) {
		for b.Loop() {
			Run(2, 1, task)
		}
	})
}

// The caller claims chunks from the front and pool workers from the back,
// each chunk exactly once.
func TestClaimFromBothEnds(t *testing.T) {
	j := &job{chunks: 5}
	var got []int64
	for _, front := range []bool{true, false, false, true, true, false, true} {
		if c, ok := j.claim(front); ok {
			got = append(got, c)
		}
	}
	want := []int64{0, 4, 3, 1, 2}
	if len(got) != len(want) {
		t.Fatalf("claimed %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("claimed %v, want %v", got, want)
		}
	}
}
