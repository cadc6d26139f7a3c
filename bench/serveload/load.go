package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dla-go/dla"
)

// photo is one image the clients send, with the probabilities `dla
// predict` gives it (every class).
type photo struct {
	name  string
	data  []byte
	probs []float32
}

// loadResult is what a load run measured.
type loadResult struct {
	requests, ok, rejected int
	elapsed                time.Duration
	latencies              []time.Duration // of the answered requests (200 and 503)
}

func (r *loadResult) throughput() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r *loadResult) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	return s[min(len(s)-1, int(math.Ceil(p*float64(len(s))))-1)]
}

// tolerance bounds how far a served probability may be from predict's: a
// batch runs the same kernels as a single image, but not always in the
// same order.
const tolerance = 1e-4

// load sends n requests from c concurrent clients, alternating between
// /v1/classify (the image as the body) and the V2 infer endpoint (the image
// as binary BYTES, the logits back as binary FP32), and checks that every
// answer is right or a clean 503.
func load(ctx context.Context, base, model string, photos []photo, n, c int) (*loadResult, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c}, Timeout: time.Minute}
	res := &loadResult{requests: n}
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				p := photos[i%len(photos)]
				t0 := time.Now()
				var rejected bool
				var err error
				if i%2 == 0 {
					rejected, err = classifyOnce(client, base, model, p)
				} else {
					rejected, err = inferOnce(client, base, model, p)
				}
				d := time.Since(t0)
				mu.Lock()
				switch {
				case err != nil && firstErr == nil:
					firstErr = fmt.Errorf("request %d (%s): %w", i, p.name, err)
				case err == nil && rejected:
					res.rejected++
					res.latencies = append(res.latencies, d)
				case err == nil:
					res.ok++
					res.latencies = append(res.latencies, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res, firstErr
}

// rejection checks a 503 is the server's clean answer to a full queue.
func rejection(resp *http.Response, body []byte) error {
	var e struct {
		Error string `json:"error"`
	}
	if resp.Header.Get("Retry-After") == "" || json.Unmarshal(body, &e) != nil || e.Error == "" {
		return fmt.Errorf("a 503 without Retry-After or a JSON error: %s", body)
	}
	return nil
}

func post(client *http.Client, url string, header map[string]string, body []byte) (*http.Response, []byte, error) {
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func classifyOnce(client *http.Client, base, model string, p photo) (bool, error) {
	resp, body, err := post(client, base+"/v1/classify?topk=5&model="+model, map[string]string{"Content-Type": "image/jpeg"}, p.data)
	if err != nil {
		return false, err
	}
	if resp.StatusCode == http.StatusServiceUnavailable {
		return true, rejection(resp, body)
	}
	var got dla.Classification
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &got) != nil || len(got.Predictions) != 5 {
		return false, fmt.Errorf("/v1/classify: %d %s", resp.StatusCode, body)
	}
	for i, pr := range got.Predictions {
		if math.Abs(float64(pr.Score-p.probs[pr.Class])) > tolerance || i > 0 && pr.Score > got.Predictions[i-1].Score {
			return false, fmt.Errorf("/v1/classify: %+v, predict gives class %d %g", got.Predictions, pr.Class, p.probs[pr.Class])
		}
	}
	return false, nil
}

func inferOnce(client *http.Client, base, model string, p photo) (bool, error) {
	bin := binary.LittleEndian.AppendUint32(nil, uint32(len(p.data)))
	bin = append(bin, p.data...)
	head, _ := json.Marshal(map[string]any{
		"parameters": map[string]any{"binary_data_output": true},
		"inputs": []any{map[string]any{"name": "image", "datatype": "BYTES", "shape": []int{1},
			"parameters": map[string]any{"binary_data_size": len(bin)}}},
	})
	resp, body, err := post(client, base+"/v2/models/"+model+"/infer", map[string]string{
		"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": strconv.Itoa(len(head))}, append(head, bin...))
	if err != nil {
		return false, err
	}
	if resp.StatusCode == http.StatusServiceUnavailable {
		return true, rejection(resp, body)
	}
	hl, err := strconv.Atoi(resp.Header.Get("Inference-Header-Content-Length"))
	if resp.StatusCode != http.StatusOK || err != nil || hl > len(body) || len(body)-hl != 4*len(p.probs) {
		return false, fmt.Errorf("infer: %d %q", resp.StatusCode, body[:min(len(body), 300)])
	}
	logits := make([]float32, len(p.probs))
	for i := range logits {
		logits[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[hl+4*i:]))
	}
	for c, q := range dla.Softmax(logits) {
		if math.Abs(float64(q-p.probs[c])) > tolerance {
			return false, fmt.Errorf("infer: class %d probability %g, predict gives %g", c, q, p.probs[c])
		}
	}
	return false, nil
}
