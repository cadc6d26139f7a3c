// Command serveload measures `dla serve` under load and compares it with
// `dla predict` on the same images: it starts the server on loopback with
// a weight file (synthetic weights unless -w is given), sends -n requests
// from -c concurrent clients, half to /v1/classify and half to the V2
// infer endpoint, checks every answer against `dla predict --json` (or
// that it is a clean 503), and reports throughput, p50/p99 latency, the
// server's peak RSS and predict's images per second (each the better of
// two turns, taken alternately). bench/serve_load.sh runs it for DLA46_c
// and DLA34.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dla-go/dla"
	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/weights"
)

func main() {
	dlaBin := flag.String("dla", "", "the dla binary")
	model := flag.String("m", "dla46_c", "model")
	wpath := flag.String("w", "", "weight file (default: synthetic weights for -m)")
	n := flag.Int("n", 2000, "requests")
	c := flag.Int("c", 32, "concurrent clients")
	images := flag.String("images", "", "comma-separated JPEG files")
	serveFlags := flag.String("serve-flags", "", "extra flags for dla serve, space-separated")
	flag.Parse()
	if err := run(*dlaBin, *model, *wpath, strings.Split(*images, ","), *n, *c, strings.Fields(*serveFlags)); err != nil {
		fmt.Fprintln(os.Stderr, "serveload:", err)
		os.Exit(1)
	}
}

func run(dlaBin, model, wpath string, images []string, n, c int, serveFlags []string) error {
	if dlaBin == "" || len(images) == 0 || images[0] == "" {
		return fmt.Errorf("give -dla and -images")
	}
	tmp, err := os.MkdirTemp("", "serveload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if wpath == "" {
		if wpath, err = syntheticWeights(tmp, model); err != nil {
			return err
		}
	}
	photos, err := expected(dlaBin, wpath, images)
	if err != nil {
		return err
	}

	cmd := exec.Command(dlaBin, append([]string{"serve", "-w", wpath, "--name", model, "--http", "127.0.0.1:0", "--grpc", ""}, serveFlags...)...)
	base, err := startServer(cmd)
	if err != nil {
		return err
	}
	defer cmd.Process.Kill()
	ctx := context.Background()
	// Warm-up: every batch size once, so that the measured runs find the
	// engine's arenas allocated.
	if _, err := load(ctx, base, model, photos, 4*c, c); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	// The host is shared and noisy: the server and predict take turns,
	// twice each, and each keeps its better run.
	var res *loadResult
	var rate float64
	for range 2 {
		r, err := predictRate(dlaBin, wpath, images, n)
		if err != nil {
			return err
		}
		rate = max(rate, r)
		l, err := load(ctx, base, model, photos, n, c)
		if err != nil {
			return err
		}
		if res == nil || l.throughput() > res.throughput() {
			res = l
		}
	}
	if resp, err := http.Get(base + "/v2/health/live"); err != nil || resp.StatusCode != 200 {
		return fmt.Errorf("the server is not live after the load: %v", err)
	}
	peak, err := peakRSS(cmd.Process.Pid)
	if err != nil {
		return err
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("dla serve after SIGTERM: %w", err)
	}
	fmt.Printf("| %s | %d | %d | %d | %d | %.1f | %.1f | %.1f | %.0f | %.1f | %.2f |\n",
		model, res.requests, c, res.ok, res.rejected, res.throughput(),
		ms(res.percentile(0.50)), ms(res.percentile(0.99)), float64(peak)/(1<<20), rate, res.throughput()/rate)
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// syntheticWeights writes model with random weights (throughput does not
// depend on them) and ImageNet preprocessing.
func syntheticWeights(dir, model string) (string, error) {
	m, err := dla.Load(model, dla.WithSyntheticWeights(1))
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, model+".safetensors")
	return path, weights.WriteSafetensors(path, map[string]*tensor.Tensor(m.Weights()), m.Describe(nil))
}

// expected reads the images and the probabilities `dla predict` gives them.
func expected(dlaBin, wpath string, images []string) ([]photo, error) {
	out, err := exec.Command(dlaBin, append([]string{"predict", "--json", "--topk", "100000", "-w", wpath}, images...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("dla predict: %w", err)
	}
	var photos []photo
	dec := json.NewDecoder(bytes.NewReader(out))
	for _, img := range images {
		var r dla.Classification
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("dla predict output: %w", err)
		}
		data, err := os.ReadFile(img)
		if err != nil {
			return nil, err
		}
		probs := make([]float32, len(r.Predictions))
		for _, p := range r.Predictions {
			probs[p.Class] = p.Score
		}
		photos = append(photos, photo{name: img, data: data, probs: probs})
	}
	return photos, nil
}

var listening = regexp.MustCompile(`HTTP on (http://\S+)`)

// startServer starts dla serve and returns its URL once it listens.
func startServer(cmd *exec.Cmd) (string, error) {
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, pipe)
			return m[1], nil
		}
	}
	return "", fmt.Errorf("dla serve exited before listening")
}

// peakRSS is the process's peak resident set (VmHWM), in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// predictRate is the images per second of `dla predict` over n images
// (the photos repeated), less its start-up (a run over the photos once).
func predictRate(dlaBin, wpath string, images []string, n int) (float64, error) {
	timed := func(paths []string) (time.Duration, error) {
		cmd := exec.Command(dlaBin, append([]string{"predict", "--json", "-w", wpath}, paths...)...)
		cmd.Stdout = io.Discard
		start := time.Now()
		err := cmd.Run()
		return time.Since(start), err
	}
	all := make([]string, n)
	for i := range all {
		all[i] = images[i%len(images)]
	}
	once, err := timed(images)
	if err != nil {
		return 0, err
	}
	full, err := timed(all)
	if err != nil {
		return 0, err
	}
	return float64(n-len(images)) / (full - once).Seconds(), nil
}
