package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/codes"

	"github.com/dla-go/dla/web"
	"github.com/dla-go/dla/web/wasm"
)

// Handler serves the Open Inference Protocol over HTTP, /v1/classify,
// /v1/models, /metrics, the page at / and the WebAssembly page at /wasm/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern, method string, guarded bool, h http.HandlerFunc) {
		var handler http.Handler = allowMethod(method, h)
		if guarded {
			handler = s.authorize(handler)
		}
		mux.Handle(pattern, handler)
	}
	// Health checks are open, as probes carry no token.
	route("/v2/health/live", http.MethodGet, false, s.live)
	route("/v2/health/ready", http.MethodGet, false, s.ready)
	route("/v2/models/{name}/ready", http.MethodGet, false, s.modelReady)
	route("/v2/models/{name}/versions/{version}/ready", http.MethodGet, false, s.modelReady)

	route("/v2", http.MethodGet, true, s.serverMetadata)
	route("/v2/models/{name}", http.MethodGet, true, s.modelMetadata)
	route("/v2/models/{name}/versions/{version}", http.MethodGet, true, s.modelMetadata)
	route("/v2/models/{name}/infer", http.MethodPost, true, s.v2Infer)
	route("/v2/models/{name}/versions/{version}/infer", http.MethodPost, true, s.v2Infer)
	route("/v1/classify", http.MethodPost, true, s.classify)
	route("/v1/models", http.MethodGet, true, s.listModels)
	route("/metrics", http.MethodGet, true,
		promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP)
	// The page's own files are the same in every binary and hold nothing
	// of the server's: open, so a browser can load them; the page asks
	// for the token when the API answers 401.
	mux.Handle("/", allowMethod(http.MethodGet, pageHeaders(http.FileServerFS(web.Files))))
	// The WebAssembly page (web/wasm): the module, when the release built
	// it in, classifies in the browser itself.
	mux.Handle("/wasm/", allowMethod(http.MethodGet, wasmPageHeaders(http.StripPrefix("/wasm/", http.FileServerFS(wasm.Files())))))
	notFound := func(w http.ResponseWriter, r *http.Request) {
		writeError(w, newError(http.StatusNotFound, codes.NotFound, reasonInvalid, "no endpoint %s", r.URL.Path))
	}
	mux.HandleFunc("/v1/", notFound)
	mux.HandleFunc("/v2/", notFound)
	return s.logRequests(mux)
}

// allowMethod answers other methods with a JSON 405 (HEAD goes with GET).
func allowMethod(method string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", method)
			writeError(w, newError(http.StatusMethodNotAllowed, codes.Unimplemented, reasonInvalid,
				"%s %s: use %s", r.Method, r.URL.Path, method))
			return
		}
		h.ServeHTTP(w, r)
	})
}

func pageHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob:; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

func wasmPageHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", wasm.ContentSecurityPolicy)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

var errUnauthorized = newError(http.StatusUnauthorized, codes.Unauthenticated, reasonInvalid,
	"missing or wrong bearer token")

// authorize lets requests through that carry the token. The comparison is
// of hashes, in constant time, so that neither the token nor its length
// shows in the timing.
func (s *Server) authorize(h http.Handler) http.Handler {
	if s.cfg.Token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.tokenMatches(r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dla"`)
			writeError(w, errUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) tokenMatches(authorization string) bool {
	got := sha256.Sum256([]byte(authorization))
	want := sha256.Sum256([]byte("Bearer " + s.cfg.Token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// statusWriter remembers the status and size of a response for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// logRequests writes one line per request to cfg.Log, if set.
func (s *Server) logRequests(h http.Handler) http.Handler {
	if s.cfg.Log == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		s.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, "http",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", sw.status),
			slog.Int64("bytes_in", r.ContentLength), slog.Int64("bytes_out", sw.bytes),
			slog.Duration("duration", time.Since(start)), slog.String("remote", r.RemoteAddr))
	})
}

// writeError writes err as {"error": "..."} with its status; a full queue
// says when to retry.
func writeError(w http.ResponseWriter, err error) {
	ae := asAPIError(err)
	if ae.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Del(headerLengthHeader)
	writeJSON(w, ae.status, map[string]string{"error": ae.msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// readBody reads a request body of at most MaxBodyBytes.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return nil, tooLarge("the request body is %d bytes, over the limit of %d", r.ContentLength, s.cfg.MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge("the request body is over the limit of %d bytes", s.cfg.MaxBodyBytes)
	case err != nil:
		return nil, badRequest("reading the request body: %v", err)
	}
	return body, nil
}

// checkContentType accepts a missing Content-Type or one of allowed.
func checkContentType(r *http.Request, allowed ...string) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !slices.Contains(allowed, mt) {
		return unsupportedMedia("Content-Type %q: send %v", ct, allowed)
	}
	return nil
}

func (s *Server) live(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }

// ready answers 200 or, as the protocol says of false, a 4xx.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if !s.Ready() {
		writeError(w, badRequest("the server is shutting down"))
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) modelReady(w http.ResponseWriter, r *http.Request) {
	if _, err := s.lookup(r.PathValue("name"), r.PathValue("version")); err != nil {
		writeError(w, err)
		return
	}
	s.ready(w, r)
}

func (s *Server) serverMetadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"name": "dla", "version": serverVersion(), "extensions": extensions})
}

func (s *Server) modelMetadata(w http.ResponseWriter, r *http.Request) {
	m, err := s.lookup(r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, m.metadata())
}
