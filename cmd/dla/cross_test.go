package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dla-go/dla"
	"github.com/dla-go/dla/internal/agree"
)

// TestCrossBuildAgrees builds dla for DLA_CROSS_GOARCH (arm64, or arm for
// armv7), runs its predict under DLA_CROSS_EXEC (qemu-aarch64-static or
// qemu-arm-static: .ci/run sets both) and checks that it classifies the
// sample images as this build does: the built-in model on every image, and
// DLA46_c at 224x224 with synthetic weights on a few (emulation is slow).
// Scores may differ by 1e-4: arm64 fuses multiply-adds.
func TestCrossBuildAgrees(t *testing.T) {
	goarch, runner := os.Getenv("DLA_CROSS_GOARCH"), os.Getenv("DLA_CROSS_EXEC")
	if goarch == "" || runner == "" {
		t.Skip("set DLA_CROSS_GOARCH and DLA_CROSS_EXEC to compare a cross-compiled build")
	}
	bin := filepath.Join(t.TempDir(), "dla-"+goarch)
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOARM=7")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build for %s: %v\n%s", goarch, err, out)
	}
	all, err := filepath.Glob(filepath.Join("..", "..", "testdata", "vision", "images", "*"))
	if err != nil || len(all) == 0 {
		t.Fatalf("no sample images: %v", err)
	}
	version := exec.Command(runner, bin, "version")
	out, err := version.Output()
	if err != nil {
		t.Fatalf("%s dla version: %v", runner, err)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))

	w := syntheticWeightFile(t, 10)
	for _, c := range []struct {
		name   string
		args   []string
		images []string
	}{
		{"built-in model", nil, all},
		{"DLA46_c at 224, synthetic weights", []string{"-w", w}, visionImages("q90_420.jpg", "exif6.jpg", "palette.png")},
	} {
		args := append(append([]string{"predict", "--json", "--topk", "10"}, c.args...), c.images...)
		code, stdout, stderr := dlaRun(t, args...)
		if code != 0 {
			t.Fatalf("%s: here: exit %d: %s", c.name, code, stderr)
		}
		want := decodePredictions(t, []byte(stdout))
		cmd := exec.Command(runner, append([]string{bin}, args...)...)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %s: %v: %s", c.name, goarch, err, errb.String())
		}
		gotPreds := decodePredictions(t, got)
		if len(gotPreds) != len(want) {
			t.Fatalf("%s: %s classified %d images, this build %d", c.name, goarch, len(gotPreds), len(want))
		}
		for img, w := range want {
			if err := agree.Predictions(w, gotPreds[img], 1e-4); err != nil {
				t.Errorf("%s, %s: %s: %v", c.name, img, goarch, err)
			}
		}
	}
}

// decodePredictions reads predict --json output: image path -> predictions.
func decodePredictions(t *testing.T, out []byte) map[string][]dla.Prediction {
	t.Helper()
	m := map[string][]dla.Prediction{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var r struct {
			Image       string
			Predictions []dla.Prediction
		}
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("predict output: %v", err)
		}
		m[r.Image] = r.Predictions
	}
	return m
}
