package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/dla-go/dla/api"
	"github.com/dla-go/dla/web/wasm"
)

func TestBearerToken(t *testing.T) {
	const token = "s3cret-token"
	_, url, client, conn := start(t, Config{Token: token})
	img := fixture(t, "q90_420.jpg")
	bearer := map[string]string{"Authorization": "Bearer " + token}
	for _, c := range []struct {
		method, path string
		header       map[string]string
		status       int
	}{
		{"GET", "/v2/health/live", nil, 200},
		{"GET", "/v2/health/ready", nil, 200},
		{"GET", "/v2/models/dla46_c/ready", nil, 200},
		{"GET", "/", nil, 200},
		{"GET", "/app.js", nil, 200},
		{"GET", "/wasm/", nil, 200},
		{"GET", "/wasm/page.js", nil, 200},
		{"GET", "/v2", nil, 401},
		{"GET", "/v2/models/dla46_c", nil, 401},
		{"GET", "/v1/models", nil, 401},
		{"GET", "/metrics", nil, 401},
		{"POST", "/v1/classify", nil, 401},
		{"POST", "/v1/classify", map[string]string{"Authorization": "Bearer wrong"}, 401},
		{"POST", "/v1/classify", map[string]string{"Authorization": token}, 401},
		{"POST", "/v1/classify", bearer, 200},
		{"GET", "/v2", bearer, 200},
		{"GET", "/metrics", bearer, 200},
	} {
		r := do(t, c.method, url+c.path, c.header, img)
		if r.status != c.status {
			t.Errorf("%s %s with %v: %d, want %d", c.method, c.path, c.header, r.status, c.status)
		}
		if strings.HasPrefix(c.path, "/wasm/") && r.header.Get("Content-Security-Policy") != wasm.ContentSecurityPolicy {
			t.Errorf("%s %s: Content-Security-Policy %q", c.method, c.path, r.header.Get("Content-Security-Policy"))
		}
		if r.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s %s: 401 without WWW-Authenticate", c.method, c.path)
		}
	}

	ctx := t.Context()
	if _, err := client.ServerMetadata(ctx, &api.ServerMetadataRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("gRPC metadata without a token: %v", err)
	}
	if r, err := client.ServerLive(ctx, &api.ServerLiveRequest{}); err != nil || !r.Live {
		t.Errorf("gRPC ServerLive without a token: %v", err)
	}
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("gRPC health without a token: %v", err)
	}
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	if _, err := client.ServerMetadata(authed, &api.ServerMetadataRequest{}); err != nil {
		t.Errorf("gRPC metadata with the token: %v", err)
	}
}

func TestRequestLog(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, nil))
	_, url, client, _ := start(t, Config{Log: log})
	do(t, "POST", url+"/v1/classify", nil, fixture(t, "q90_420.jpg"))
	do(t, "GET", url+"/v2/models/nope", nil, nil)
	client.ServerLive(t.Context(), &api.ServerLiveRequest{})
	mu.Lock()
	defer mu.Unlock()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want 3:\n%s", len(lines), buf.String())
	}
	var first, second, third map[string]any
	for i, v := range []*map[string]any{&first, &second, &third} {
		if err := json.Unmarshal([]byte(lines[i]), v); err != nil {
			t.Fatal(err)
		}
	}
	if first["path"] != "/v1/classify" || first["status"] != float64(200) || first["method"] != "POST" {
		t.Errorf("first line %s", lines[0])
	}
	if second["status"] != float64(404) {
		t.Errorf("second line %s", lines[1])
	}
	if third["method"] != "/inference.GRPCInferenceService/ServerLive" || third["code"] != "OK" {
		t.Errorf("third line %s", lines[2])
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// The metrics follow Triton's names and pass promtool's checks (Debian's
// prometheus package has promtool; CI installs it).
func TestMetrics(t *testing.T) {
	_, url, _, _ := start(t, Config{})
	do(t, "POST", url+"/v1/classify", nil, fixture(t, "q90_420.jpg"))
	do(t, "POST", url+"/v1/classify", nil, []byte("not an image"))
	r := do(t, "GET", url+"/metrics", nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	text := string(r.body)
	for _, want := range []string{
		`dla_inference_request_success_total{model="dla46_c",version="1"} 1`,
		`dla_inference_request_failure_total{model="dla46_c",reason="INVALID",version="1"} 1`,
		`dla_inference_count_total{model="dla46_c",version="1"} 1`,
		`dla_inference_exec_count_total{model="dla46_c",version="1"} 1`,
		`dla_inference_pending_requests{model="dla46_c",version="1"} 0`,
		`dla_inference_queue_duration_seconds_count{model="dla46_c",version="1"} 1`,
		`dla_inference_compute_duration_seconds_count{model="dla46_c",version="1"} 1`,
		`dla_inference_request_duration_seconds_count{model="dla46_c",version="1"} 2`,
		`dla_inference_batch_size_bucket{model="dla46_c",version="1",le="1"} 1`,
		"go_goroutines ", "process_resident_memory_bytes ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is missing in CI (.ci/run installs it)")
		}
		t.Skip("promtool not installed (Debian's prometheus package has it)")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(r.body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
