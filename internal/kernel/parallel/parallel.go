// Package parallel runs index ranges on a fixed pool of worker goroutines,
// one per GOMAXPROCS, so kernels split their work without a goroutine per task.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dla-go/dla/internal/kernel/freelist"
)

// Task is work over an index range. Passing a pointer to long-lived state as a
// Task lets a hot caller run in parallel without allocating a closure.
type Task interface{ Run(lo, hi int) }

// Func adapts a plain function to Task.
type Func func(lo, hi int)

// Run calls f.
func (f Func) Run(lo, hi int) { f(lo, hi) }

// job is one Run call shared by the caller and any pool workers that pick it up.
// Chunks are claimed with an atomic counter; the caller waits only for chunks
// someone claimed, so a worker that arrives late (or never) blocks nobody and
// nested calls cannot deadlock. Jobs are recycled once the caller and every
// queued reference are through with them (refs), so Run allocates nothing.
type job struct {
	task   Task
	n      int
	grain  int
	chunks int64
	claims atomic.Int64 // chunks taken from the front (low 32 bits) and from the back (high 32)
	done   atomic.Int64
	refs   atomic.Int64
}

var jobs = freelist.List[job]{New: func() *job { return new(job) }, Max: freelist.MaxSmall}

func (j *job) release() {
	if j.refs.Add(-1) == 0 {
		j.task = nil
		jobs.Put(j)
	}
}

var (
	mu      sync.Mutex
	workers int
	queue   chan *job
)

// Workers is the number of goroutines For spreads work over.
func Workers() int {
	mu.Lock()
	defer mu.Unlock()
	start()
	return workers
}

// SetWorkers changes the pool size (n <= 0 means GOMAXPROCS) and returns the
// previous size. It is meant for start-up and benchmarks, not hot paths.
func SetWorkers(n int) int {
	mu.Lock()
	defer mu.Unlock()
	start()
	old := workers
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	if n != workers {
		close(queue)
		spawn(n)
	}
	return old
}

func start() {
	if queue == nil {
		spawn(runtime.GOMAXPROCS(0))
	}
}

func spawn(n int) {
	workers = n
	q := make(chan *job, 4*n)
	queue = q
	for range n - 1 { // the caller of For is the n-th worker
		go func() {
			for {
				j, ok := receive(q)
				if !ok {
					return
				}
				j.run(false)
				j.release()
			}
		}()
	}
}

// spinFor is how long an idle worker polls for the next job before it parks
// (and how long Run polls for its chunks to finish before it sleeps between
// polls). A goroutine parked on a channel is woken by a send only when
// another core gets round to stealing it, which on a VM can take longer
// than a small layer, so two cores ran no faster than one; a polling
// worker starts at once. Inference runs layer after
// layer, so workers stay hot during a batch and park shortly after it.
const spinFor = 200 * time.Microsecond

// receive takes the next job from q, polling for spinFor before blocking.
func receive(q chan *job) (*job, bool) {
	deadline := time.Now().Add(spinFor)
	for i := 1; ; i++ {
		select {
		case j, ok := <-q:
			return j, ok
		default:
		}
		if i%64 == 0 && time.Now().After(deadline) {
			break
		}
	}
	j, ok := <-q
	return j, ok
}

// run computes chunks until none is left: the caller takes them from the
// front, pool workers from the back. Each core thus keeps to its end of the
// index range, layer after layer, and mostly reads what it wrote itself
// (kernels split their outputs in the same spatial order); chunks claimed
// from one counter alternated between the cores.
func (j *job) run(front bool) {
	for {
		c, ok := j.claim(front)
		if !ok {
			return
		}
		lo := int(c) * j.grain
		j.task.Run(lo, min(lo+j.grain, j.n))
		j.done.Add(1)
	}
}

// claim takes the next chunk from the front or the back, if any is left.
func (j *job) claim(front bool) (int64, bool) {
	for {
		v := j.claims.Load()
		lo, hi := v&(1<<32-1), v>>32
		if lo+hi >= j.chunks {
			return 0, false
		}
		c, next := lo, v+1
		if !front {
			c, next = j.chunks-1-hi, v+1<<32
		}
		if j.claims.CompareAndSwap(v, next) {
			return c, true
		}
	}
}

// For calls fn on disjoint ranges [lo, hi) that cover [0, n), each at most
// grain long (grain <= 0 means an even split over the workers), on up to
// Workers goroutines including the caller, and returns when all have returned.
// fn may itself call For.
func For(n, grain int, fn func(lo, hi int)) { Run(n, grain, Func(fn)) }

// Run is For with a Task.
func Run(n, grain int, t Task) {
	if n <= 0 {
		return
	}
	mu.Lock()
	start()
	w, q := workers, queue
	mu.Unlock()
	if grain <= 0 {
		grain = (n + w - 1) / w
	}
	chunks := (n + grain - 1) / grain
	if w == 1 || chunks == 1 {
		for lo := 0; lo < n; lo += grain {
			t.Run(lo, min(lo+grain, n))
		}
		return
	}
	j := jobs.Get()
	j.task, j.n, j.grain, j.chunks = t, n, grain, int64(chunks)
	j.claims.Store(0)
	j.done.Store(0)
	j.refs.Store(1)
	for range min(w-1, chunks-1) {
		j.refs.Add(1)
		select {
		case q <- j:
		default: // every worker is busy: the caller does the rest
			j.refs.Add(-1)
		}
	}
	j.run(true)
	j.wait()
	j.release()
}

// wait returns when every chunk is done. It polls instead of blocking on a
// channel: a goroutine parked on a channel is woken tens of microseconds
// after the send here (see spinFor), longer than a small layer takes. It does
// not yield while polling either: a yielding caller lets the scheduler run
// the worker on the caller's core, and the two then share one core. After
// spinFor of polling it sleeps between polls, for long chunks.
func (j *job) wait() {
	start := time.Now()
	for i := 1; j.done.Load() != j.chunks; i++ {
		if i%64 == 0 && time.Since(start) > spinFor {
			time.Sleep(10 * time.Microsecond)
		}
	}
}
