package server

import (
	"context"
	"time"
)

// inferRequest is an Open Inference Protocol request, parsed from either
// protocol and checked against the model.
type inferRequest struct {
	id      string
	input   string    // inputTensor or imageTensor
	shape   []int64   // of the input
	fp32    []float32 // inputTensor's values
	images  [][]byte  // imageTensor's encoded images
	outputs []outputSpec
	timeout time.Duration // the client's, from the "timeout" parameter; 0 if none
}

// outputSpec is one requested output (always logits, in one of two forms).
type outputSpec struct {
	classification int  // > 0: the top K as "value:index:label" strings
	binary         bool // HTTP: sent as binary data after the JSON
}

// outputTensor is one output of a response.
type outputTensor struct {
	datatype string
	shape    []int64
	fp32     []float32 // FP32
	strs     []string  // BYTES
	binary   bool
}

// prepare turns a request's input into images for the batcher.
func (s *Server) prepare(ctx context.Context, m *servedModel, req *inferRequest) (*batchInput, error) {
	if req.input == inputTensor {
		return s.fp32Input(m, req.shape, req.fp32)
	}
	return s.imageInput(ctx, m, req.images)
}

// outputs renders the logits of n images as the request asked.
func (m *servedModel) outputs(specs []outputSpec, logits []float32, n int) []outputTensor {
	out := make([]outputTensor, len(specs))
	for i, sp := range specs {
		if sp.classification > 0 {
			out[i] = outputTensor{datatype: "BYTES", shape: []int64{int64(n), int64(sp.classification)},
				strs: m.classification(logits, n, sp.classification), binary: sp.binary}
			continue
		}
		out[i] = outputTensor{datatype: "FP32", shape: []int64{int64(n), int64(m.classes)}, fp32: logits, binary: sp.binary}
	}
	return out
}

// run is the life of one inference request for m, whatever the protocol:
// a place in the queue (or an answer at once when it is full), the
// deadline, reading and preparing the input (prepare, which also returns
// the client's own timeout, if any), the batch, and the metrics.
func (s *Server) run(ctx context.Context, m *servedModel,
	prepare func(ctx context.Context) (*batchInput, time.Duration, error)) (*batchInput, []float32, error) {
	start := time.Now()
	if err := m.batcher.admit(); err != nil {
		m.metrics.done(start, err)
		return nil, nil, err
	}
	m.metrics.pending.Inc()
	defer m.metrics.pending.Dec()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	in, clientTimeout, err := prepare(ctx)
	if err == nil && clientTimeout > 0 {
		var cancelClient context.CancelFunc
		ctx, cancelClient = context.WithDeadline(ctx, start.Add(clientTimeout))
		defer cancelClient()
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		m.batcher.release()
		m.metrics.done(start, err)
		return nil, nil, err
	}
	logits, err := m.batcher.submit(ctx, in.x, in.n, in.h, in.w)
	m.metrics.done(start, err)
	return in, logits, err
}
