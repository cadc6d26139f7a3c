package wasm_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dla-go/dla"
	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/internal/agree"
	"github.com/dla-go/dla/internal/headless"
	"github.com/dla-go/dla/web/wasm"
	"github.com/dla-go/dla/web/wasm/wasmbuild"
	"github.com/dla-go/dla/weights"
)

// The page, served from a local server in headless Chromium (with the
// Content-Security-Policy dla serve sends), classifies a
// sample image with the built-in model and then with a picked weight file
// (DLA46_c at 224x224, synthetic weights) as `dla predict` does.
func TestPageClassifiesLikePredict(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the module and starts a browser")
	}
	exe, err := headless.Executable()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err) // .ci/run installs chromium
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	site := t.TempDir()
	if err := wasmbuild.Site(ctx, site); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "dla")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "../../cmd/dla")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/dla: %v\n%s", err, out)
	}
	image, err := filepath.Abs("../../testdata/vision/images/q90_420.jpg")
	if err != nil {
		t.Fatal(err)
	}
	weightFile := syntheticWeights(t)

	// Under the policy dla serve sends: no inline script or style.
	url, stop, err := headless.Serve(site, http.Header{"Content-Security-Policy": {wasm.ContentSecurityPolicy}})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	bctx, closeBrowser := headless.Start(ctx, exe, t.TempDir())
	defer closeBrowser()
	if err := chromedp.Do(bctx, chromedp.Navigate(url+"index.html")); err != nil {
		t.Fatalf("loading the page: %v", err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[chromedp.Void](`document.body.dataset.ready === "true" || document.getElementById("status").className === "error"`)); err != nil {
		t.Fatalf("starting the module: %v", err)
	}

	got := pick(t, bctx, "#image", image)
	want := predict(t, ctx, bin, image)
	if err := agree.Predictions(want, got, 1e-4); err != nil {
		t.Errorf("built-in model: %v\npage %+v\npredict %+v", err, got, want)
	}
	t.Logf("built-in model: %s %.5f (predict: %s %.5f)", got[0].Label, got[0].Score, want[0].Label, want[0].Score)

	got = pick(t, bctx, "#weights", weightFile)
	want = predict(t, ctx, bin, image, "-w", weightFile)
	if err := agree.Predictions(want, got, 1e-4); err != nil {
		t.Errorf("picked weight file: %v\npage %+v\npredict %+v", err, got, want)
	}
}

// pick chooses file in the page's file input sel and returns the
// predictions the page then shows.
func pick(t *testing.T, ctx context.Context, sel, file string) []dla.Prediction {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`delete document.getElementById("result").dataset.json`),
		chromedp.SetUploadFiles(sel, []string{file}),
	)
	if err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	raw, err := chromedp.Run(ctx, chromedp.Poll[string](
		`document.getElementById("result").dataset.json || (document.getElementById("status").className === "error" && "error")`,
		chromedp.WithPollingTimeout(2*time.Minute)))
	if err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	status, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("status").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	var preds []dla.Prediction
	if err := json.Unmarshal([]byte(raw), &preds); err != nil || len(preds) != 5 {
		t.Fatalf("%s: the page shows %q (status %q)", sel, raw, status)
	}
	t.Logf("%s: %s", sel, status)
	return preds
}

// predict runs `dla predict --json` on image with every class listed.
func predict(t *testing.T, ctx context.Context, bin, image string, args ...string) []dla.Prediction {
	t.Helper()
	args = append(append([]string{"predict", "--json", "--topk", "10"}, args...), image)
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	if err != nil {
		t.Fatalf("dla %v: %v", args, err)
	}
	var r struct{ Predictions []dla.Prediction }
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("dla predict output %q: %v", out, err)
	}
	return r.Predictions
}

// syntheticWeights writes DLA46_c with synthetic weights and ten classes.
func syntheticWeights(t *testing.T) string {
	t.Helper()
	v, err := arch.Lookup("dla46_c")
	if err != nil {
		t.Fatal(err)
	}
	g, err := v.Build(10, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dla46_c.safetensors")
	if err := weights.WriteSafetensors(path, arch.SyntheticWeights(g, 11), map[string]string{"architecture": "dla46_c"}); err != nil {
		t.Fatal(err)
	}
	return path
}
