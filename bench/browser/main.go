// Command browser times DLA46_c in headless Chromium: the Go engine
// compiled to WebAssembly (web/wasm) against onnxruntime-web running our
// exported ONNX file on one thread, in the same browser, alternating the
// two. It prints the module's size and a markdown table of medians. Run it
// through bench/browser.sh, which installs onnxruntime-web first.
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dla-go/dla/internal/headless"
	"github.com/dla-go/dla/web/wasm"
	"github.com/dla-go/dla/web/wasm/wasmbuild"
)

//go:embed ort.html
var ortPage []byte

// ortFiles are what the single-threaded wasm backend of onnxruntime-web loads.
var ortFiles = []string{"ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"}

type timing struct {
	MedianMS float64 `json:"median_ms"`
	MinMS    float64 `json:"min_ms"`
	Runs     int     `json:"runs"`
	Error    string  `json:"error"`
}

func main() {
	ortDir := flag.String("ort", "/tmp/ortweb/node_modules/onnxruntime-web/dist", "onnxruntime-web's dist directory")
	runs := flag.Int("runs", 20, "timed runs per measurement")
	passes := flag.Int("passes", 2, "alternations of the two runtimes")
	flag.Parse()
	if err := run(*ortDir, *runs, *passes, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "browser bench: %v\n", err)
		os.Exit(1)
	}
}

func run(ortDir string, runs, passes int, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	exe, err := headless.Executable()
	if err != nil {
		return err
	}
	root, err := wasmbuild.ModuleRoot(ctx)
	if err != nil {
		return err
	}
	site, err := os.MkdirTemp("", "dla-browser-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(site)
	if err := wasmbuild.Site(ctx, site); err != nil {
		return err
	}
	files := map[string][]byte{"ort.html": ortPage}
	for _, name := range ortFiles {
		if files[name], err = os.ReadFile(filepath.Join(ortDir, name)); err != nil {
			return fmt.Errorf("%w (bench/browser.sh installs onnxruntime-web)", err)
		}
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(site, name), b, 0o644); err != nil {
			return err
		}
	}
	// Our ONNX exports of the two models the module times.
	dla := filepath.Join(site, "dla")
	if msg, err := goCmd(ctx, root, "build", "-o", dla, "./cmd/dla"); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, msg)
	}
	for _, args := range [][]string{
		{"export", "-w", filepath.Join(root, "builtin", "dla46_c_fashion_mnist.safetensors"), "--size", "32", "--batch", "1", "-o", filepath.Join(site, "builtin.onnx")},
		{"export", "-m", "dla46_c", "--synthetic", "--size", "224", "--batch", "1", "-o", filepath.Join(site, "synthetic.onnx")},
	} {
		if msg, err := exec.CommandContext(ctx, dla, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("dla %v: %v\n%s", args, err, msg)
		}
	}
	url, stop, err := headless.Serve(site, nil)
	if err != nil {
		return err
	}
	defer stop()
	profile, err := os.MkdirTemp("", "dla-chromium-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profile)
	bctx, closeBrowser := headless.Start(ctx, exe, profile)
	defer closeBrowser()
	version, err := chromedp.Run(bctx, chromedp.Evaluate[string](`navigator.userAgent`))
	if err != nil {
		return err
	}

	cases := []struct {
		name, which string
		size        int
	}{
		{"DLA46_c built-in, 32x32", "builtin", 32},
		{"DLA46_c synthetic, 224x224", "synthetic", 224},
	}
	best := map[string][2]timing{}
	for range passes {
		for _, c := range cases {
			ours, err := measure(bctx, url+"index.html", fmt.Sprintf(`dla.bench(%q, %d)`, c.which, runs))
			if err != nil {
				return fmt.Errorf("%s, Go wasm: %w", c.name, err)
			}
			ort, err := measure(bctx, url+"ort.html", fmt.Sprintf(`benchORT(%q, %d, %d)`, c.which+".onnx", c.size, runs))
			if err != nil {
				return fmt.Errorf("%s, onnxruntime-web: %w", c.name, err)
			}
			b, seen := best[c.name]
			if !seen || ours.MedianMS < b[0].MedianMS {
				b[0] = ours
			}
			if !seen || ort.MedianMS < b[1].MedianMS {
				b[1] = ort
			}
			best[c.name] = b
		}
	}
	st, err := os.Stat(filepath.Join(site, wasm.Module))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "# %s\n# dla.wasm %d bytes (%.2f MiB); one thread each; best median of %d passes of %d runs\n\n", version, st.Size(), float64(st.Size())/(1<<20), passes, runs)
	fmt.Fprintln(out, "| model | Go wasm median ms (min) | onnxruntime-web 1.30 median ms (min) | ratio |")
	fmt.Fprintln(out, "|---|---|---|---|")
	for _, c := range cases {
		b := best[c.name]
		fmt.Fprintf(out, "| %s | %.1f (%.1f) | %.1f (%.1f) | %.2f |\n", c.name, b[0].MedianMS, b[0].MinMS, b[1].MedianMS, b[1].MinMS, b[0].MedianMS/b[1].MedianMS)
	}
	return nil
}

// measure loads page in a fresh tab and evaluates expr, a promise or value
// of a timing.
func measure(ctx context.Context, page, expr string) (timing, error) {
	tab, cancel := chromedp.NewContext(ctx)
	defer cancel()
	if err := chromedp.Do(tab, chromedp.Navigate(page)); err != nil {
		return timing{}, err
	}
	if _, err := chromedp.Run(tab, chromedp.Poll[chromedp.Void](`document.body.dataset.ready === "true"`, chromedp.WithPollingTimeout(2*time.Minute))); err != nil {
		return timing{}, err
	}
	t, err := chromedp.Run(tab, chromedp.Evaluate[timing](expr, chromedp.EvalAwaitPromise))
	if err == nil && t.Error != "" {
		err = fmt.Errorf("%s", t.Error)
	}
	return t, err
}

func goCmd(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	return cmd.CombinedOutput()
}
