package server

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dla-go/dla"
)

// chromium finds a Chromium to drive: Debian's (CI installs it), else the
// test is skipped outside CI.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is missing in CI (.ci/run installs it)")
	}
	t.Skip("no chromium installed (Debian's chromium package)")
	return ""
}

// The page, in a real browser: pick an image, read the top five and the
// time off the page, and find the server's answer for that image there.
func TestPageInBrowser(t *testing.T) {
	exe := chromium(t)
	_, url, _, _ := start(t, Config{})
	image, err := filepath.Abs(filepath.Join("..", "testdata", "vision", "images", "q90_420.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	var wantResult dla.Classification
	r := do(t, "POST", url+"/v1/classify?topk=5", nil, fixture(t, "q90_420.jpg"))
	if err := json.Unmarshal(r.body, &wantResult); err != nil {
		t.Fatal(err)
	}

	// Flags from the machine notes: no sandbox as root, and nothing that
	// reaches for the network.
	alloc, cancel := chromedp.NewExecAllocator(t.Context(),
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	type row struct {
		Label string `json:"label"`
		Score string `json:"score"`
		Width string `json:"width"`
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#drop")),
		chromedp.WaitReady(chromedp.CSS(`#model option[value="dla46_c"]`)),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{image}),
		chromedp.WaitVisible(chromedp.CSS("#results li")),
	)
	if err != nil {
		t.Fatal(err)
	}
	model, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#model")))
	if err != nil {
		t.Fatal(err)
	}
	took, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#time")))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]row](`[...document.querySelectorAll("#results li")].map(li => ({
		label: li.querySelector(".label").textContent,
		score: li.querySelector(".score").textContent,
		width: li.querySelector(".fill").style.width}))`))
	if err != nil {
		t.Fatal(err)
	}
	if model != "dla46_c" {
		t.Errorf("model %q selected", model)
	}
	if !strings.HasSuffix(took, " ms") {
		t.Errorf("time %q", took)
	}
	if len(rows) != 5 {
		t.Fatalf("%d rows on the page", len(rows))
	}
	for i, row := range rows {
		p := wantResult.Predictions[i]
		score := fmt.Sprintf("%.1f%%", 100*p.Score)
		if row.Label != p.Label || row.Score != score || row.Width != score {
			t.Errorf("row %d %+v, want %s %s", i, row, p.Label, score)
		}
	}
}
