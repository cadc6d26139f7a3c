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
	l.Put(new(int)) // beyond Max: dropped
	if got := l.Get(); got != b {
		t.Error("Get did not return the last object put")
	}
	if got := l.Get(); got != a {
		t.Error("Get did not return the first object put")
	}
	l.Get()
	if made != 3 {
		t.Errorf("made %d objects, want 3 (the third put was beyond Max)", made)
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
