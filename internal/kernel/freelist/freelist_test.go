package freelist

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestGetReturnsWhatAnyCallerPut(t *testing.T) {
	made := 0
	l := List[int]{New: func() *int { made++; return new(int) }, Max: 2}
	a, b := l.Get(), l.Get()
	if made != 2 || a == b {
		t.Fatalf("made %d objects for two Gets (same object: %v)", made, a == b)
	}
	l.Put(a)
	l.Put(b)
	if got := l.Get(); got != b {
		t.Error("Get did not return the last object put")
	}
	if got := l.Get(); got != a {
		t.Error("Get did not return the first object put")
	}
	if made != 2 {
		t.Errorf("made %d objects, want 2", made)
	}
}

func TestFillMakesUpToMax(t *testing.T) {
	made := 0
	l := List[int]{New: func() *int { made++; return new(int) }, Max: 3}
	l.Fill(2)
	l.Fill(2)
	if made != 2 {
		t.Fatalf("Fill(2) twice made %d objects, want 2", made)
	}
	l.Fill(5)
	if made != 3 {
		t.Fatalf("Fill(5) with Max 3 left %d objects made, want 3", made)
	}
	for range 3 {
		l.Get()
	}
	if made != 3 {
		t.Errorf("three Gets after Fill made %d more objects", made-3)
	}
}

// Objects put beyond Max go to a sync.Pool, which the collector may empty:
// Get still takes them back while they are there.
func TestPutBeyondMaxOverflows(t *testing.T) {
	l := List[int]{New: func() *int { return new(int) }, Max: 1}
	a, b := l.Get(), l.Get()
	l.Put(a)
	l.Put(b) // beyond Max
	if got := l.Get(); got != a {
		t.Error("Get did not return the object kept in the list first")
	}
	// b is in the overflow pool, or was collected; either way Get works.
	if got := l.Get(); got == nil || got == a {
		t.Errorf("second Get returned %p (a is %p)", got, a)
	}
}

// Once the list holds as many objects as goroutines, goroutines taking and
// returning them concurrently, as the workers of a batch do, allocate nothing.
func TestConcurrentSteadyStateAllocatesNothing(t *testing.T) {
	const goroutines = 8
	var made atomic.Int64
	l := List[[64]byte]{New: func() *[64]byte { made.Add(1); return new([64]byte) }, Max: goroutines}
	// First every goroutine holds an object at once.
	var holding, done sync.WaitGroup
	holding.Add(goroutines)
	for range goroutines {
		done.Go(func() {
			x := l.Get()
			holding.Done()
			holding.Wait()
			l.Put(x)
		})
	}
	done.Wait()
	if made.Load() != goroutines {
		t.Fatalf("made %d objects for %d goroutines holding one each", made.Load(), goroutines)
	}
	for range goroutines {
		done.Go(func() {
			for range 1000 {
				x := l.Get()
				x[0]++
				l.Put(x)
			}
		})
	}
	done.Wait()
	if n := made.Load() - goroutines; n != 0 {
		t.Errorf("made %d more objects", n)
	}
}
