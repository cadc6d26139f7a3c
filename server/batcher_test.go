package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/dla-go/dla"
	"github.com/dla-go/dla/api"
	"github.com/dla-go/dla/tensor"
)

// gatedModel is the built-in model with a Forward that reports each pass
// as it starts and then waits to be let through: the tests decide when
// compute happens, so what they check does not depend on timing.
type gatedModel struct {
	*dla.Model
	passes chan pass
	gate   chan struct{}
}

type pass struct{ images, size int }

func (g *gatedModel) Forward(ctx context.Context, x *tensor.Tensor) (*tensor.Tensor, error) {
	g.passes <- pass{x.Shape[0], x.Shape[2]}
	<-g.gate
	return g.Model.Forward(ctx, x)
}

// open lets n passes through.
func (g *gatedModel) open(n int) {
	for range n {
		g.gate <- struct{}{}
	}
}

func (g *gatedModel) next(t *testing.T) pass {
	t.Helper()
	select {
	case p := <-g.passes:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no forward pass started")
		return pass{}
	}
}

// startGated serves the gated model (its warm-up pass let through).
func startGated(t *testing.T, cfg Config) (*Server, string, api.GRPCInferenceServiceClient, *gatedModel) {
	t.Helper()
	m := builtinModel(t)
	g := &gatedModel{Model: m, passes: make(chan pass, 64), gate: make(chan struct{}, 64)}
	g.open(1)
	cfg.Models = []Model{{Name: "dla46_c", Classifier: g, Preprocessing: m.Preprocessing()}}
	s, url, c, _ := start(t, cfg)
	if p := g.next(t); p != (pass{1, 32}) {
		t.Fatalf("warm-up pass %+v", p)
	}
	// Let the passes still blocked go at the end, so the servers can stop.
	t.Cleanup(func() { g.open(16) })
	return s, url, c, g
}

func (b *batcher) counts() (admitted, queued int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.admitted, len(b.queue)
}

// async sends a request in the background.
func async(t *testing.T, f func() response) chan response {
	out := make(chan response, 1)
	go func() { out <- f() }()
	return out
}

func classifyReq(t *testing.T, url string, img []byte) func() response {
	return func() response { return do(t, "POST", url+"/v1/classify", nil, img) }
}

func fp32Req(t *testing.T, url string, size int, extra map[string]any) func() response {
	x := randomInput(1, size, size)
	body := map[string]any{"inputs": []any{fp32Input([]int{1, 3, size, size}, x.Data)}}
	for k, v := range extra {
		body[k] = v
	}
	return func() response { return postJSON(t, url+"/v2/models/dla46_c/infer", body) }
}

func wait(t *testing.T, c chan response) response {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no response")
		return response{}
	}
}

func TestBatcherGroupsConcurrentRequests(t *testing.T) {
	m := builtinModel(t)
	// No deadline to cut a batch short: only a full batch runs.
	_, url, _, g := startGated(t, Config{MaxBatch: 4, MaxDelay: time.Hour})
	imgs := [][]byte{fixture(t, "q90_420.jpg"), fixture(t, "rgb8.png"), fixture(t, "gray.jpg"), fixture(t, "q95_444.jpg")}
	var replies []chan response
	for range 2 {
		for _, img := range imgs {
			replies = append(replies, async(t, classifyReq(t, url, img)))
		}
	}
	for range 2 {
		if p := g.next(t); p != (pass{4, 32}) {
			t.Fatalf("pass %+v, want 4 images", p)
		}
		g.open(1)
	}
	for i, c := range replies {
		r := wait(t, c)
		var got dla.Classification
		if r.status != 200 || json.Unmarshal(r.body, &got) != nil {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
		if top := m.TopK(want(t, m, imgs[i%4]), 1)[0]; got.Predictions[0].Class != top.Class || !closeTo(
			[]float32{got.Predictions[0].Score}, []float32{top.Score}, 1e-5) {
			t.Errorf("request %d: %+v, want %+v", i, got.Predictions[0], top)
		}
	}
}

func TestBatcherRunsAPartialBatchAfterMaxDelay(t *testing.T) {
	const delay = 30 * time.Millisecond
	_, url, _, g := startGated(t, Config{MaxBatch: 8, MaxDelay: delay})
	g.open(1)
	sent := time.Now()
	reply := async(t, classifyReq(t, url, fixture(t, "q90_420.jpg")))
	if p := g.next(t); p != (pass{1, 32}) {
		t.Fatalf("pass %+v", p)
	}
	if waited := time.Since(sent); waited < delay {
		t.Errorf("the batch ran after %v, before --max-delay %v", waited, delay)
	}
	if r := wait(t, reply); r.status != 200 {
		t.Errorf("%d %s", r.status, r.body)
	}
}

func TestBatcherKeepsOneInputSizePerBatch(t *testing.T) {
	s, url, _, g := startGated(t, Config{MaxBatch: 4, MaxDelay: time.Nanosecond})
	b := s.models["dla46_c"].batcher
	first := async(t, fp32Req(t, url, 32, nil))
	g.next(t) // the first request computes, the others queue behind it
	// Queued one at a time: sent together, they could arrive in any order.
	var replies []chan response
	for i, req := range []func() response{
		fp32Req(t, url, 32, nil),
		fp32Req(t, url, 64, nil),
		classifyReq(t, url, fixture(t, "q90_420.jpg")),
	} {
		replies = append(replies, async(t, req))
		eventually(t, fmt.Sprintf("%d queued requests", i+1), func() bool { _, q := b.counts(); return q == i+1 })
	}
	g.open(3)
	if p := g.next(t); p != (pass{2, 32}) {
		t.Errorf("second pass %+v, want the two 32x32 requests", p)
	}
	if p := g.next(t); p != (pass{1, 64}) {
		t.Errorf("third pass %+v, want the 64x64 request", p)
	}
	for _, c := range append(replies, first) {
		if r := wait(t, c); r.status != 200 {
			t.Errorf("%d %s", r.status, r.body)
		}
	}
}

func TestQueueFullAnswers503AtOnce(t *testing.T) {
	s, url, client, g := startGated(t, Config{MaxBatch: 1, MaxQueue: 2, MaxDelay: time.Nanosecond})
	b := s.models["dla46_c"].batcher
	img := fixture(t, "q90_420.jpg")
	replies := []chan response{async(t, classifyReq(t, url, img))}
	g.next(t) // computing, and held there
	replies = append(replies, async(t, classifyReq(t, url, img)), async(t, classifyReq(t, url, img)))
	eventually(t, "a full queue", func() bool { a, _ := b.counts(); return a == 2 })

	r := do(t, "POST", url+"/v1/classify", nil, img)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "1" {
		t.Errorf("full queue: %d, Retry-After %q, %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	_, err := client.ModelInfer(t.Context(), &api.ModelInferRequest{ModelName: "dla46_c",
		Inputs: []*api.ModelInferRequest_InferInputTensor{{Name: "image", Datatype: "BYTES", Shape: []int64{1},
			Contents: &api.InferTensorContents{BytesContents: [][]byte{img}}}}})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("full queue over gRPC: %v", err)
	}
	g.open(3)
	for _, c := range replies {
		if r := wait(t, c); r.status != 200 {
			t.Errorf("queued request: %d %s", r.status, r.body)
		}
	}
	metrics := string(do(t, "GET", url+"/metrics", nil, nil).body)
	for _, line := range []string{
		`dla_inference_request_failure_total{model="dla46_c",reason="REJECTED",version="1"} 2`,
		`dla_inference_request_success_total{model="dla46_c",version="1"} 3`,
	} {
		if !strings.Contains(metrics, line) {
			t.Errorf("metrics lack %s", line)
		}
	}
}

func TestExpiredRequestIsNeverComputed(t *testing.T) {
	s, url, client, g := startGated(t, Config{MaxBatch: 1, MaxQueue: 8, MaxDelay: time.Nanosecond})
	b := s.models["dla46_c"].batcher
	held := async(t, fp32Req(t, url, 32, nil))
	g.next(t)
	// 64x64 requests whose deadlines pass in the queue: the client's own
	// over HTTP (Triton's "timeout" parameter, microseconds) and gRPC's.
	r := wait(t, async(t, fp32Req(t, url, 64, map[string]any{"parameters": map[string]any{"timeout": 50_000}})))
	if r.status != http.StatusGatewayTimeout {
		t.Errorf("expired HTTP request: %d %s", r.status, r.body)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	x := randomInput(1, 64, 64)
	_, err := client.ModelInfer(ctx, &api.ModelInferRequest{ModelName: "dla46_c",
		Inputs: []*api.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{1, 3, 64, 64},
			Contents: &api.InferTensorContents{Fp32Contents: x.Data}}}})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("expired gRPC request: %v", err)
	}
	eventually(t, "an empty queue", func() bool { a, q := b.counts(); return a == 0 && q == 0 })
	g.open(1)
	if r := wait(t, held); r.status != 200 {
		t.Fatalf("held request: %d %s", r.status, r.body)
	}
	// Had an expired request been computed, its 64x64 pass would come next.
	g.open(1)
	next := async(t, fp32Req(t, url, 32, nil))
	if p := g.next(t); p != (pass{1, 32}) {
		t.Errorf("pass %+v after the expired requests, want the new 32x32 one", p)
	}
	if r := wait(t, next); r.status != 200 {
		t.Errorf("%d %s", r.status, r.body)
	}
	// The gRPC client gives up at its deadline, which the server may see
	// first as the call being canceled.
	metrics := string(do(t, "GET", url+"/metrics", nil, nil).body)
	timeout := `dla_inference_request_failure_total{model="dla46_c",reason="TIMEOUT",version="1"} `
	canceled := `dla_inference_request_failure_total{model="dla46_c",reason="CANCELED",version="1"} `
	if !strings.Contains(metrics, timeout+"2") && !(strings.Contains(metrics, timeout+"1") && strings.Contains(metrics, canceled+"1")) {
		t.Errorf("metrics do not count two expired requests:\n%s", metrics)
	}
}

func TestDrainTurnsReadinessFalse(t *testing.T) {
	s, url, client, conn := start(t, Config{})
	s.Drain()
	if r := do(t, "GET", url+"/v2/health/ready", nil, nil); r.status != http.StatusBadRequest {
		t.Errorf("ready while draining: %d", r.status)
	}
	if r := do(t, "GET", url+"/v2/models/dla46_c/ready", nil, nil); r.status != http.StatusBadRequest {
		t.Errorf("model ready while draining: %d", r.status)
	}
	if r := do(t, "GET", url+"/v2/health/live", nil, nil); r.status != 200 {
		t.Errorf("live while draining: %d", r.status)
	}
	if r, err := client.ServerReady(t.Context(), &api.ServerReadyRequest{}); err != nil || r.Ready {
		t.Errorf("gRPC ServerReady while draining: %v %v", r, err)
	}
	if r, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil ||
		r.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("gRPC health while draining: %v %v", r, err)
	}
	// In-flight and late requests are still served until the listeners close.
	if r := do(t, "POST", url+"/v1/classify", nil, fixture(t, "q90_420.jpg")); r.status != 200 {
		t.Errorf("classify while draining: %d %s", r.status, r.body)
	}
}

// panicky is the built-in model failing on 64x64 inputs the worst way.
type panicky struct{ *dla.Model }

func (p panicky) Forward(ctx context.Context, x *tensor.Tensor) (*tensor.Tensor, error) {
	if x.Shape[2] == 64 {
		panic("a bug")
	}
	return p.Model.Forward(ctx, x)
}

func TestModelPanicFailsItsBatchOnly(t *testing.T) {
	m := builtinModel(t)
	_, url, _, _ := start(t, Config{Models: []Model{{Name: "dla46_c", Classifier: panicky{m}, Preprocessing: m.Preprocessing()}}})
	r := fp32Req(t, url, 64, nil)()
	if r.status != http.StatusInternalServerError || !strings.Contains(string(r.body), "the model failed: a bug") {
		t.Errorf("%d %s", r.status, r.body)
	}
	if r := fp32Req(t, url, 32, nil)(); r.status != 200 {
		t.Errorf("after the panic: %d %s", r.status, r.body)
	}
	metrics := string(do(t, "GET", url+"/metrics", nil, nil).body)
	if line := `dla_inference_request_failure_total{model="dla46_c",reason="BACKEND",version="1"} 1`; !strings.Contains(metrics, line) {
		t.Errorf("metrics lack %s", line)
	}
}
