// Package headless runs Debian's chromium without a display, driven through
// chromedp, for the browser page's test and benchmark (web/wasm,
// bench/browser), and serves a directory to it on the loopback interface.
package headless

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"

	"github.com/chromedp/chromedp"
)

// Executable finds the browser: $CHROMIUM, else chromium or
// chromium-browser on the PATH.
func Executable() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium on the PATH (apt-get install chromium, or set CHROMIUM)")
}

// Start launches the browser with a fresh profile in userDataDir (an empty
// directory) and nothing that reaches the network on its own; cancel ends
// it. Tabs are chromedp.NewContext(ctx).
func Start(parent context.Context, exe, userDataDir string) (ctx context.Context, cancel context.CancelFunc) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(userDataDir),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	}
	actx, acancel := chromedp.NewExecAllocator(parent, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	return bctx, func() { bcancel(); acancel() }
}

// Serve serves dir over HTTP on 127.0.0.1 (a free port), each answer with
// header (which may be nil), until close is called, and returns its base
// URL with a trailing slash.
func Serve(dir string, header http.Header) (url string, close func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	files := http.FileServer(http.Dir(dir))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header()[k] = v
		}
		files.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/", func() { srv.Close() }, nil
}
