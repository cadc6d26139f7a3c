package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/dla-go/dla"
)

// TestMain lets a test run the binary's main in a child process (the test
// binary itself), for what needs a process of its own: signals, exit codes.
func TestMain(m *testing.M) {
	if os.Getenv("DLA_TEST_RUN_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// serveProcess is `dla serve` running in a child process.
type serveProcess struct {
	cmd  *exec.Cmd
	url  string // http://127.0.0.1:port
	mu   sync.Mutex
	logs bytes.Buffer
	done chan struct{} // closed when stderr ends
}

func (p *serveProcess) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

var httpLine = regexp.MustCompile(`HTTP on (http://127\.0\.0\.1:\d+)`)

// startServe starts `dla serve ARGS` on free loopback ports and waits until
// it listens.
func startServe(t *testing.T, args ...string) *serveProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "DLA_TEST_RUN_MAIN=1")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProcess{cmd: cmd, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := httpLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	select {
	case p.url = <-found:
	case <-p.done:
		t.Fatalf("dla serve exited: %s", p.stderr())
	case <-time.After(60 * time.Second):
		t.Fatalf("dla serve did not start: %s", p.stderr())
	}
	return p
}

func httpDo(t *testing.T, method, url, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// The server classifies an image exactly as `dla predict` does, with the
// model's own preprocessing and with flags that change it; -w takes the
// directory a weight file is in, as KServe hands models over.
func TestServeMatchesPredict(t *testing.T) {
	w := syntheticWeightFile(t, 5)
	images := visionImages("big420.jpg", "rgb8.png", "exif6.jpg")
	for _, flags := range [][]string{nil, {"--mode", "timm"}} {
		p := startServe(t, append([]string{"-w", filepath.Dir(w), "--name", "mine"}, flags...)...)
		code, out, errs := dlaRun(t, append(append([]string{"predict", "--json", "-w", w}, flags...), images...)...)
		if code != 0 {
			t.Fatalf("predict: %s", errs)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		for i, img := range images {
			var want, got dla.Classification
			if err := json.Unmarshal([]byte(lines[i]), &want); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(img)
			if err != nil {
				t.Fatal(err)
			}
			status, body := httpDo(t, "POST", p.url+"/v1/classify?model=mine", "application/octet-stream", b)
			if status != 200 || json.Unmarshal(body, &got) != nil {
				t.Fatalf("%s: %d %s", img, status, body)
			}
			wantJSON, _ := json.Marshal(want.Predictions)
			gotJSON, _ := json.Marshal(got.Predictions)
			if !bytes.Equal(wantJSON, gotJSON) {
				t.Errorf("%s %v: server %s\npredict %s", img, flags, gotJSON, wantJSON)
			}
		}
	}
}

// SIGTERM: readiness turns false at once, the request in flight finishes,
// the process exits 0.
func TestServeDrainsOnSIGTERM(t *testing.T) {
	// A lone request waits --max-delay for its batch to fill: in flight
	// when the signal comes.
	p := startServe(t, "--max-delay", "2s", "--drain-delay", "1s")
	img, err := os.ReadFile(visionImages("q90_420.jpg")[0])
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		status int
		body   []byte
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := http.Post(p.url+"/v1/classify", "image/jpeg", bytes.NewReader(img))
		if err != nil {
			inflight <- result{0, []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		inflight <- result{resp.StatusCode, b}
	}()
	pending := regexp.MustCompile(`dla_inference_pending_requests\{model="dla46_c",version="1"\} 1`)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, body := httpDo(t, "GET", p.url+"/metrics", "", nil); pending.Match(body) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the request never became pending")
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if status, _ := httpDo(t, "GET", p.url+"/v2/health/ready", "", nil); status == http.StatusBadRequest {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("readiness stayed true after SIGTERM")
		}
	}
	if r := <-inflight; r.status != 200 {
		t.Errorf("the request in flight: %d %s", r.status, r.body)
	}
	err = p.cmd.Wait()
	<-p.done
	if err != nil {
		t.Errorf("exit: %v\n%s", err, p.stderr())
	}
	if !strings.Contains(p.stderr(), "dla serve: stopped") {
		t.Errorf("stderr: %s", p.stderr())
	}
}

func TestServeUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--token-env", "DLA_TEST_UNSET_TOKEN_VARIABLE"},
		{"serve", "-m", "dla34"},
		{"serve", "-w", "a.safetensors", "-w", "b.safetensors", "--name", "one"},
		{"serve", "-m", "dla34", "-m", "dla60", "-w", "a.safetensors"},
		{"serve", "--http", "", "--grpc", ""},
		{"serve", "--max-batch", "0"},
		{"serve", "--name", "a/b"},
		{"serve", "extra"},
	} {
		if code, _, errs := dlaRun(t, args...); code != exitUsage || !strings.Contains(errs, "usage: dla serve") {
			t.Errorf("%q: exit %d, %s", args, code, errs)
		}
	}
	if code, _, errs := dlaRun(t, "serve", "--http", "127.0.0.1:notaport"); code != exitError || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("bad address: exit %d, %s", code, errs)
	}
	dir := t.TempDir()
	if code, _, errs := dlaRun(t, "serve", "-w", dir); code != exitError || !strings.Contains(errs, "want one weight file") {
		t.Errorf("empty weight directory: exit %d, %s", code, errs)
	}
}

// The manifests under deploy/ call dla serve with flags it has.
func TestDeployManifestsUseServeFlags(t *testing.T) {
	deploy := filepath.Join("..", "..", "deploy")
	var argLists [][]string
	for _, m := range []struct {
		file string
		pod  func(doc map[string]any) any
	}{
		{"kubernetes/deployment.yaml", func(d map[string]any) any { return dig(d, "spec", "template", "spec") }},
		{"kserve/servingruntime.yaml", func(d map[string]any) any { return dig(d, "spec") }},
	} {
		b, err := os.ReadFile(filepath.Join(deploy, m.file))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		containers, _ := dig(m.pod(doc), "containers").([]any)
		if len(containers) == 0 {
			t.Fatalf("%s: no containers", m.file)
		}
		for _, c := range containers {
			var args []string
			for _, a := range dig(c, "args").([]any) {
				args = append(args, a.(string))
			}
			argLists = append(argLists, args)
		}
	}
	b, err := os.ReadFile(filepath.Join(deploy, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := regexp.MustCompile(`(?m)^CMD (\[.*\])$`).FindSubmatch(b)
	var args []string
	if cmd == nil || json.Unmarshal(cmd[1], &args) != nil {
		t.Fatal("the Dockerfile has no CMD array")
	}
	argLists = append(argLists, args)
	for _, args := range argLists {
		if len(args) == 0 || args[0] != "serve" {
			t.Errorf("args %q do not run serve", args)
			continue
		}
		fs, _ := newServeFlags(io.Discard)
		if pos, err := parse(fs, args[1:]); err != nil || len(pos) > 0 {
			t.Errorf("dla %q: %v %q", args, err, pos)
		}
	}
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}
