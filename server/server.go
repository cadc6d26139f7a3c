// Package server serves classification models over HTTP and gRPC with the
// Open Inference Protocol (KServe V2), plus /v1/classify, a web page and
// Prometheus metrics. Requests for one model are grouped into batches
// (batcher), behind a bounded queue: a full queue answers 503 (gRPC
// UNAVAILABLE) at once, and a request whose deadline passes while it waits
// is never computed.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/dla-go/dla/tensor"
)

// Config is how the server runs.
type Config struct {
	Models   []Model
	MaxBatch int           // images per forward pass (and per request)
	MaxDelay time.Duration // how long a batch waits for more requests (0: not at all)
	MaxQueue int           // requests per model admitted and not yet in a batch
	Timeout  time.Duration // each request's deadline; clients may set a shorter one
	// MaxBodyBytes caps a request (HTTP body, gRPC message) and an encoded
	// image; MaxPixels caps an image's size, checked before decoding.
	MaxBodyBytes int64
	MaxPixels    int64
	// Token, when set, must come as "Authorization: Bearer <token>" (gRPC
	// metadata "authorization") on every request but the health checks
	// and the page's own files.
	Token string
	// Log, when set, receives one line per request.
	Log *slog.Logger
}

// Defaults for the zero fields of Config (but MaxDelay, where 0 means no
// wait), and of dla serve's flags.
const (
	DefaultMaxBatch     = 8
	DefaultMaxDelay     = 2 * time.Millisecond
	DefaultMaxQueue     = 64
	DefaultTimeout      = 10 * time.Second
	DefaultMaxBodyBytes = 32 << 20
	DefaultMaxPixels    = 30_000_000 // a 24-megapixel photo fits
)

// Server serves its models until Close.
type Server struct {
	cfg         Config
	models      map[string]*servedModel
	order       []string // model names as configured
	metrics     *metrics
	decodeSlots chan struct{}
	draining    atomic.Bool
	onDrain     []func()
}

// New checks the configuration, runs each model once at its own input size
// (so that the first requests find the engine compiled), and starts a
// batcher per model.
func New(cfg Config) (*Server, error) {
	if len(cfg.Models) == 0 {
		return nil, fmt.Errorf("server: no models to serve")
	}
	cfg.MaxBatch = orDefault(cfg.MaxBatch, DefaultMaxBatch)
	cfg.MaxQueue = orDefault(cfg.MaxQueue, DefaultMaxQueue)
	cfg.Timeout = orDefault(cfg.Timeout, DefaultTimeout)
	cfg.MaxBodyBytes = orDefault(cfg.MaxBodyBytes, DefaultMaxBodyBytes)
	cfg.MaxPixels = orDefault(cfg.MaxPixels, DefaultMaxPixels)
	if cfg.MaxBatch < 1 || cfg.MaxQueue < 1 || cfg.MaxDelay < 0 || cfg.Timeout < 0 || cfg.MaxBodyBytes < 1 || cfg.MaxPixels < 1 {
		return nil, fmt.Errorf("server: limits must be positive")
	}
	s := &Server{cfg: cfg, models: map[string]*servedModel{}, metrics: newMetrics(cfg.MaxBatch),
		decodeSlots: make(chan struct{}, runtime.GOMAXPROCS(0))}
	for _, mc := range cfg.Models {
		if err := s.add(mc); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

func (s *Server) add(mc Model) error {
	if mc.Name == "" || mc.Classifier == nil {
		return fmt.Errorf("server: a model needs a name and a classifier")
	}
	if _, dup := s.models[mc.Name]; dup {
		return fmt.Errorf("server: two models are named %q (give one another name)", mc.Name)
	}
	prep := mc.Preprocessing
	if err := prep.Validate(); err != nil {
		return fmt.Errorf("server: model %s: %w", mc.Name, err)
	}
	prep.MaxBytes, prep.MaxPixels = s.cfg.MaxBodyBytes, s.cfg.MaxPixels
	crop := prep.InputShape()[1]
	m := &servedModel{name: mc.Name, model: mc.Classifier, classes: mc.Classifier.Classes(), prep: prep, crop: crop,
		metrics: s.metrics.forModel(mc.Name), sizes: map[[2]int]bool{{crop, crop}: true}}
	if _, err := mc.Classifier.Forward(context.Background(), tensor.New(1, 3, crop, crop)); err != nil {
		return fmt.Errorf("server: model %s at %dx%d: %w", mc.Name, crop, crop, err)
	}
	m.batcher = newBatcher(mc.Classifier.Forward, m.classes, s.cfg.MaxBatch, s.cfg.MaxQueue, s.cfg.MaxDelay, m.metrics)
	s.models[mc.Name] = m
	s.order = append(s.order, mc.Name)
	return nil
}

// Drain turns readiness false (HTTP and gRPC health) while requests go on
// being served: load balancers stop sending new ones, then the caller shuts
// the listeners down and in-flight requests finish.
func (s *Server) Drain() {
	if s.draining.Swap(true) {
		return
	}
	for _, f := range s.onDrain {
		f()
	}
}

// Ready reports whether the server takes new requests (false once draining).
func (s *Server) Ready() bool { return !s.draining.Load() }

// Close stops the batchers; call it after the HTTP and gRPC servers have
// finished their requests.
func (s *Server) Close() {
	for _, m := range s.models {
		m.batcher.close()
	}
}

// lookup finds a model by name and version ("" or "1").
func (s *Server) lookup(name, version string) (*servedModel, error) {
	m, ok := s.models[name]
	if !ok {
		return nil, notFound("unknown model %q", name)
	}
	if version != "" && version != modelVersion {
		return nil, notFound("model %q has no version %q (it has version %s)", name, version, modelVersion)
	}
	return m, nil
}

// serverVersion is the module version the binary was built from.
func serverVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// extensions are the protocol extensions the server supports.
var extensions = []string{"binary_tensor_data", "classification"}
