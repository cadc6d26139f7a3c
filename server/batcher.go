package server

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/dla-go/dla/tensor"
)

// forwardFunc runs a batch [N,3,H,W] and returns the logits [N,classes].
type forwardFunc func(ctx context.Context, x *tensor.Tensor) (*tensor.Tensor, error)

// batchStats receives what a batcher measures (the metrics, in the server).
type batchStats interface {
	queued(d time.Duration)               // one request's wait from enqueue to its batch
	computed(images int, d time.Duration) // one forward pass
}

// batcher groups one model's requests into batches: a batch runs when it
// holds maxBatch images or when its oldest request has waited maxDelay,
// whichever comes first, and only requests of one input size share a batch.
// At most maxQueue requests are admitted and not yet in a running batch;
// beyond that admit fails at once. A request whose context ends while it
// waits leaves the queue and is never computed.
type batcher struct {
	forward  forwardFunc
	classes  int
	maxBatch int
	maxDelay time.Duration
	maxQueue int
	stats    batchStats

	mu       sync.Mutex
	queue    []*job
	admitted int // admitted requests not yet taken into a batch
	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}
}

// job is one request's images, preprocessed.
type job struct {
	ctx      context.Context
	x        []float32 // n images of 3 x h x w
	n, h, w  int
	enqueued time.Time
	result   chan jobResult // buffered: the batcher never waits for the reader
}

type jobResult struct {
	logits []float32 // n x classes
	err    error
}

func newBatcher(forward forwardFunc, classes, maxBatch, maxQueue int, maxDelay time.Duration, stats batchStats) *batcher {
	b := &batcher{forward: forward, classes: classes, maxBatch: maxBatch, maxDelay: maxDelay, maxQueue: maxQueue,
		stats: stats, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

// admit reserves a place in the queue for a request about to be prepared;
// release or submit must follow.
func (b *batcher) admit() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.admitted >= b.maxQueue {
		return errQueueFull
	}
	b.admitted++
	return nil
}

// release gives back the place of an admitted request that will not be submitted.
func (b *batcher) release() {
	b.mu.Lock()
	b.admitted--
	b.mu.Unlock()
}

// submit queues an admitted request's images and waits for their logits.
func (b *batcher) submit(ctx context.Context, x []float32, n, h, w int) ([]float32, error) {
	j := &job{ctx: ctx, x: x, n: n, h: h, w: w, enqueued: time.Now(), result: make(chan jobResult, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, j)
	b.mu.Unlock()
	b.signal()
	select {
	case r := <-j.result:
		return r.logits, r.err
	case <-ctx.Done():
		b.mu.Lock()
		if i := slices.Index(b.queue, j); i >= 0 {
			b.queue = slices.Delete(b.queue, i, i+1)
			b.admitted--
		}
		b.mu.Unlock()
		// Either dropped from the queue or already in a running batch,
		// whose result nobody will read.
		return nil, ctx.Err()
	}
}

func (b *batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// close stops the loop once the queue is empty; requests still admitted
// after that are the caller's to avoid (the servers are drained first).
func (b *batcher) close() {
	close(b.stop)
	<-b.done
}

func (b *batcher) loop() {
	defer close(b.done)
	for {
		batch := b.next()
		if batch == nil {
			return
		}
		b.run(batch)
	}
}

// next waits for the next batch; nil once stopped with nothing queued.
func (b *batcher) next() []*job {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.mu.Unlock()
			select {
			case <-b.wake:
				continue
			case <-b.stop:
				b.mu.Lock()
				empty := len(b.queue) == 0
				b.mu.Unlock()
				if empty {
					return nil
				}
				continue
			}
		}
		picked, images := b.pick()
		wait := time.Until(b.queue[0].enqueued.Add(b.maxDelay))
		if images >= b.maxBatch || wait <= 0 || b.stopping() {
			for _, j := range picked {
				b.queue = slices.DeleteFunc(b.queue, func(q *job) bool { return q == j })
			}
			b.admitted -= len(picked)
			b.mu.Unlock()
			return picked
		}
		b.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-b.wake:
		case <-timer.C:
		case <-b.stop:
		}
	}
}

func (b *batcher) stopping() bool {
	select {
	case <-b.stop:
		return true
	default:
		return false
	}
}

// pick chooses, oldest first, the queued requests of the oldest one's input
// size that fit in one batch. b.mu is held.
func (b *batcher) pick() ([]*job, int) {
	first := b.queue[0]
	var picked []*job
	images := 0
	for i, j := range b.queue {
		if i == 0 || j.h == first.h && j.w == first.w && images+j.n <= b.maxBatch {
			picked = append(picked, j)
			images += j.n
		}
	}
	return picked, images
}

// run computes one batch, leaving out requests whose deadline has passed.
func (b *batcher) run(batch []*job) {
	start := time.Now()
	live := batch[:0]
	images := 0
	for _, j := range batch {
		b.stats.queued(start.Sub(j.enqueued))
		if err := j.ctx.Err(); err != nil {
			j.result <- jobResult{err: err}
			continue
		}
		live = append(live, j)
		images += j.n
	}
	if len(live) == 0 {
		return
	}
	h, w := live[0].h, live[0].w
	x := live[0].x
	if len(live) > 1 {
		x = make([]float32, 0, images*3*h*w)
		for _, j := range live {
			x = append(x, j.x...)
		}
	}
	out, err := b.safeForward(&tensor.Tensor{Shape: []int{images, 3, h, w}, Data: x})
	b.stats.computed(images, time.Since(start))
	if err == nil && len(out.Data) != images*b.classes {
		err = fmt.Errorf("the model returned %d logits for %d images of %d classes", len(out.Data), images, b.classes)
	}
	at := 0
	for _, j := range live {
		if err != nil {
			j.result <- jobResult{err: err}
			continue
		}
		j.result <- jobResult{logits: out.Data[at*b.classes : (at+j.n)*b.classes]}
		at += j.n
	}
}

// safeForward runs the model, turning a panic into the batch's error: a
// bug met by one batch fails its requests, not the server.
func (b *batcher) safeForward(x *tensor.Tensor) (out *tensor.Tensor, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("the model failed: %v", p)
		}
	}()
	return b.forward(context.Background(), x)
}
