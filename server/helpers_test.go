package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/dla-go/dla"
	"github.com/dla-go/dla/api"
	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/vision"
)

// builtin is the model the tests serve: DLA46_c on 32x32 inputs, fast.
var builtin = sync.OnceValues(func() (*dla.Model, error) { return dla.Builtin() })

func builtinModel(t testing.TB) *dla.Model {
	t.Helper()
	m, err := builtin()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// start serves cfg (the built-in model when cfg has none) over HTTP and
// gRPC on loopback until the test ends.
func start(t *testing.T, cfg Config) (*Server, string, api.GRPCInferenceServiceClient, *grpc.ClientConn) {
	t.Helper()
	if cfg.Models == nil {
		m := builtinModel(t)
		cfg.Models = []Model{{Name: "dla46_c", Classifier: m, Preprocessing: m.Preprocessing()}}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := s.NewGRPCServer()
	go g.Serve(ln)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		g.Stop()
		hs.Close()
		s.Close()
	})
	return s, hs.URL, api.NewGRPCInferenceServiceClient(conn), conn
}

// fixture reads an image of the repository's vision fixtures.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "vision", "images", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// want computes what the model gives an encoded image, the way `dla
// predict` does: decode, preprocess, forward.
func want(t testing.TB, m *dla.Model, img []byte) []float32 {
	t.Helper()
	rgb, err := vision.DecodeBytes(img, m.Preprocessing())
	if err != nil {
		t.Fatal(err)
	}
	x, err := vision.Preprocess(rgb, m.Preprocessing())
	if err != nil {
		t.Fatal(err)
	}
	logits, err := m.Forward(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	return logits.Data
}

// randomInput is a deterministic [n,3,h,w] input.
func randomInput(n, h, w int) *tensor.Tensor {
	x := tensor.New(n, 3, h, w)
	for i := range x.Data {
		x.Data[i] = float32((i*7919)%2001)/1000 - 1
	}
	return x
}

func closeTo(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		d := float64(a[i] - b[i])
		if d > tol || d < -tol {
			return false
		}
	}
	return true
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t testing.TB, method, url string, header map[string]string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func postJSON(t testing.TB, url string, v any) response {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, http.MethodPost, url, map[string]string{"Content-Type": "application/json"}, b)
}

// eventually polls cond until it holds, failing the test after 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
