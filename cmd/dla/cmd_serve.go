package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/dla-go/dla/server"
)

// listFlag collects a repeated flag's values in order.
type listFlag []string

func (f *listFlag) String() string     { return strings.Join(*f, ",") }
func (f *listFlag) Set(v string) error { *f = append(*f, v); return nil }

// serveFlags are the flags of dla serve.
type serveFlags struct {
	models, wpaths, names         listFlag
	httpAddr, grpcAddr, tokenEnv  *string
	maxBatch, maxQueue            *int
	maxDelay, timeout, drainDelay *time.Duration
	maxBody, maxPixels            *int64
	logRequests                   *bool
	prep                          prepFlags
}

func newServeFlags(stderr io.Writer) (*flag.FlagSet, *serveFlags) {
	fs := newFlags("serve", stderr)
	f := &serveFlags{}
	fs.Var(&f.models, "m", "model name, once per -w (default: the architecture recorded in the weight file)")
	fs.Var(&f.wpaths, "w", "weight file, or a directory holding one; repeat for several models (default: the built-in model)")
	fs.Var(&f.names, "name", "the model's name in URLs and requests, once per model (default: its architecture, e.g. dla46_c)")
	f.httpAddr = fs.String("http", "127.0.0.1:8080", `HTTP address ("" for none)`)
	f.grpcAddr = fs.String("grpc", "127.0.0.1:8081", `gRPC address ("" for none)`)
	f.maxBatch = fs.Int("max-batch", server.DefaultMaxBatch, "images per forward pass, and per request")
	f.maxDelay = fs.Duration("max-delay", server.DefaultMaxDelay, "how long a batch waits for more requests")
	f.maxQueue = fs.Int("max-queue", server.DefaultMaxQueue, "requests per model waiting for a batch; more are answered 503 at once")
	f.timeout = fs.Duration("timeout", server.DefaultTimeout, "each request's deadline (clients may set a shorter one)")
	f.maxBody = fs.Int64("max-body", server.DefaultMaxBodyBytes, "largest request body or gRPC message, in bytes")
	f.maxPixels = fs.Int64("max-pixels", server.DefaultMaxPixels, "largest image, in pixels, checked before decoding")
	f.tokenEnv = fs.String("token-env", "", "environment variable holding a bearer token that every request but the health checks must carry")
	f.logRequests = fs.Bool("log-requests", false, "one JSON line per request on stderr")
	f.drainDelay = fs.Duration("drain-delay", 0, "on SIGTERM, how long to go on serving after readiness turns false (for load balancers to notice)")
	// The preprocessing flags are predict's, so that a flag added there
	// (such as a faster JPEG decoding) applies here the same way.
	f.prep = addPrepFlags(fs)
	return fs, f
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newServeFlags(stderr)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	switch {
	case *f.maxBatch < 1 || *f.maxBatch > 256:
		return usagef("--max-batch must be in 1..256")
	case *f.maxQueue < 1 || *f.maxDelay < 0 || *f.timeout <= 0 || *f.maxBody < 1 || *f.maxPixels < 1 || *f.drainDelay < 0:
		return usagef("--max-queue, --timeout, --max-body and --max-pixels must be positive, --max-delay and --drain-delay not negative")
	case *f.httpAddr == "" && *f.grpcAddr == "":
		return usagef("give --http or --grpc an address")
	}
	if _, err := f.prep.options(); err != nil {
		return err
	}
	token := ""
	if *f.tokenEnv != "" {
		if token = os.Getenv(*f.tokenEnv); token == "" {
			return usagef("--token-env %s: that environment variable is empty", *f.tokenEnv)
		}
	}
	served, err := loadServed(f.models, f.wpaths, f.names, f.prep)
	if err != nil {
		return err
	}
	cfg := server.Config{Models: served, MaxBatch: *f.maxBatch, MaxDelay: *f.maxDelay, MaxQueue: *f.maxQueue,
		Timeout: *f.timeout, MaxBodyBytes: *f.maxBody, MaxPixels: *f.maxPixels, Token: token}
	if *f.logRequests {
		cfg.Log = slog.New(slog.NewJSONHandler(stderr, nil))
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	return serveUntilSignal(ctx, srv, *f.httpAddr, *f.grpcAddr, *f.timeout, *f.drainDelay, stderr)
}

// loadServed loads each -w with its -m and --name (the built-in model when
// there is no -w), with the preprocessing `dla predict` would use for it.
func loadServed(models, wpaths, names []string, po prepFlags) ([]server.Model, error) {
	if len(wpaths) == 0 {
		wpaths = []string{""}
	}
	if len(models) > 1 && len(models) != len(wpaths) {
		return nil, usagef("give -m once per -w (%d -m, %d -w)", len(models), len(wpaths))
	}
	if len(names) > 0 && len(names) != len(wpaths) {
		return nil, usagef("give --name once per model (%d --name, %d models)", len(names), len(wpaths))
	}
	for _, m := range models {
		if err := checkModelName(m); err != nil {
			return nil, err
		}
	}
	var out []server.Model
	for i, w := range wpaths {
		name := ""
		if len(models) > 0 {
			name = models[min(i, len(models)-1)]
		}
		path, err := weightPath(w)
		if err != nil {
			return nil, err
		}
		m, err := openModel(name, path, "")
		if err != nil {
			return nil, err
		}
		opt, err := po.forModel(m)
		if err != nil {
			return nil, err
		}
		served := server.Model{Name: m.Variant().Name, Classifier: m, Preprocessing: opt}
		if len(names) > 0 {
			served.Name = names[i]
		}
		if served.Name == "" || strings.ContainsAny(served.Name, "/?#% ") {
			return nil, usagef("--name %q: a model's name goes in URLs; use letters, digits, '-', '_' or '.'", served.Name)
		}
		out = append(out, served)
	}
	return out, nil
}

// weightExtensions are the names weight files have, for -w DIR.
var weightExtensions = []string{".safetensors", ".pth", ".pt", ".pdparams", ".bin"}

// weightPath resolves -w DIR (how KServe hands a model over, in
// /mnt/models) to the one weight file in it.
func weightPath(w string) (string, error) {
	if w == "" {
		return "", nil
	}
	st, err := os.Stat(w)
	if err != nil || !st.IsDir() {
		return w, nil // the loader reports a missing file
	}
	entries, err := os.ReadDir(w)
	if err != nil {
		return "", err
	}
	var found []string
	for _, e := range entries {
		if !e.IsDir() && slices.Contains(weightExtensions, strings.ToLower(filepath.Ext(e.Name()))) {
			found = append(found, filepath.Join(w, e.Name()))
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("%s: want one weight file (%s) in it, found %d", w, strings.Join(weightExtensions, ", "), len(found))
	}
	return found[0], nil
}

// serveUntilSignal serves until SIGTERM (then exits cleanly: readiness
// false at once, in-flight requests finish) or an interrupt (the same, then
// exit 130), or until a listener fails.
func serveUntilSignal(ctx context.Context, srv *server.Server, httpAddr, grpcAddr string, timeout, drainDelay time.Duration, stderr io.Writer) error {
	termCtx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 2)
	var httpSrv *http.Server
	var grpcSrv *grpc.Server
	if httpAddr != "" {
		ln, err := net.Listen("tcp", httpAddr)
		if err != nil {
			return err
		}
		httpSrv = &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout: timeout + 30*time.Second, WriteTimeout: timeout + 30*time.Second, IdleTimeout: 2 * time.Minute,
			MaxHeaderBytes: 64 << 10}
		go func() { errc <- httpSrv.Serve(ln) }()
		fmt.Fprintf(stderr, "dla serve: HTTP on http://%s\n", ln.Addr())
	}
	if grpcAddr != "" {
		ln, err := net.Listen("tcp", grpcAddr)
		if err != nil {
			if httpSrv != nil {
				httpSrv.Close()
			}
			return err
		}
		grpcSrv = srv.NewGRPCServer()
		go func() { errc <- grpcSrv.Serve(ln) }()
		fmt.Fprintf(stderr, "dla serve: gRPC on %s\n", ln.Addr())
	}
	var served error
	select {
	case <-termCtx.Done():
	case served = <-errc:
	}
	srv.Drain()
	if served == nil {
		fmt.Fprintln(stderr, "dla serve: draining")
		time.Sleep(drainDelay)
	}
	// In-flight requests finish within their deadline; a client that holds
	// a connection open longer than that is cut off.
	grace, cancel := context.WithTimeout(context.Background(), timeout+5*time.Second)
	defer cancel()
	if httpSrv != nil {
		if err := httpSrv.Shutdown(grace); err != nil {
			httpSrv.Close()
		}
	}
	if grpcSrv != nil {
		stopped := make(chan struct{})
		go func() { grpcSrv.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-grace.Done():
			grpcSrv.Stop()
		}
	}
	switch {
	case served != nil && !errors.Is(served, http.ErrServerClosed):
		return served
	case ctx.Err() != nil:
		return ctx.Err() // interrupted: exit 130
	}
	fmt.Fprintln(stderr, "dla serve: stopped")
	return nil
}
