package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/dla-go/dla"
	"github.com/dla-go/dla/server"
	"github.com/dla-go/dla/vision"
)

// A small run of the load test: a few hundred requests from twice as many
// clients as the queue holds, every answer right or a clean 503.
func TestLoadSmall(t *testing.T) {
	m, err := dla.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Config{Models: []server.Model{{Name: "fashion", Classifier: m, Preprocessing: m.Preprocessing()}},
		MaxQueue: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()

	var photos []photo
	for _, name := range []string{"big420.jpg", "q90_420.jpg", "progressive.jpg", "gray.jpg", "cmyk.jpg"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "vision", "images", name))
		if err != nil {
			t.Fatal(err)
		}
		// What predict computes: decode, preprocess, forward, softmax.
		img, err := vision.DecodeBytes(data, m.Preprocessing())
		if err != nil {
			t.Fatal(err)
		}
		x, err := vision.Preprocess(img, m.Preprocessing())
		if err != nil {
			t.Fatal(err)
		}
		logits, err := m.Forward(t.Context(), x)
		if err != nil {
			t.Fatal(err)
		}
		photos = append(photos, photo{name: name, data: data, probs: dla.Softmax(logits.Data)})
	}
	res, err := load(t.Context(), hs.URL, "fashion", photos, 300, 16)
	if err != nil {
		t.Fatal(err)
	}
	if res.ok+res.rejected != 300 || res.ok == 0 {
		t.Errorf("%d answered, %d rejected of 300", res.ok, res.rejected)
	}
	t.Logf("%d ok, %d rejected, %.0f requests/s, p50 %v, p99 %v", res.ok, res.rejected, res.throughput(),
		res.percentile(0.5), res.percentile(0.99))
}
