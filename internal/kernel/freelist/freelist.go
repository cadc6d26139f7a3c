// Package freelist keeps objects for reuse on hot paths.
//
// sync.Pool does not fit a caller that must not allocate while it runs on
// several processors at once: a Get sees what its own processor put back
// and what others left in their shared queues, but not their private slot,
// and every collection empties the pool. Images of a batch run side by side
// then made Engine.ForwardInto allocate 1-7 objects a call. A List hands
// any caller whatever any caller put back, so once it holds as many objects
// as are ever in use at once, Get allocates nothing.
package freelist

import "sync"

// MaxSmall is the Max for small objects such as a kernel's per-call state:
// more than are in use at once on any ordinary machine (one per concurrent
// call), and cheap to keep.
const MaxSmall = 64

// List is a stack of free objects of type T. The zero value is not usable:
// set New and Max.
type List[T any] struct {
	// New makes an object when the list is empty.
	New func() *T
	// Max bounds the objects kept for good. Put hands the rest to a
	// sync.Pool, where the collector may take them: a burst of concurrent
	// callers then does not pin its memory for the life of the list.
	Max int

	mu       sync.Mutex
	free     []*T
	overflow sync.Pool
}

// Get takes an object from the list, or from its overflow, or makes one.
func (l *List[T]) Get() *T {
	l.mu.Lock()
	if n := len(l.free); n > 0 {
		x := l.free[n-1]
		l.free[n-1] = nil
		l.free = l.free[:n-1]
		l.mu.Unlock()
		return x
	}
	l.mu.Unlock()
	if x, ok := l.overflow.Get().(*T); ok {
		return x
	}
	return l.New()
}

// Put returns x to the list; the caller must not use it afterwards.
func (l *List[T]) Put(x *T) {
	l.mu.Lock()
	if len(l.free) < l.Max {
		l.free = append(l.free, x)
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	l.overflow.Put(x)
}

// Fill makes objects until the list holds n free ones (at most Max), so
// that n callers at once find one each without allocating.
func (l *List[T]) Fill(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.free) < min(n, l.Max) {
		l.free = append(l.free, l.New())
	}
}
