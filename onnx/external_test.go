package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/nn"
	"github.com/dla-go/dla/tensor"
)

// These tests hand exported files to independent implementations: the ONNX
// checker (Debian's python3-onnx) and ONNX Runtime (onnxruntime-node). Each
// skips with the install command when its tool is missing.

const python = "/usr/bin/python3"

func testdata(name string) string {
	return filepath.Join("..", "testdata", "onnx", name)
}

// TestPythonChecker runs onnx.checker.check_model(full_check=True) on all ten
// variants at 224 (folded), plus dla34 unfolded with a fixed batch and
// softmax. With -short only the three small variants are checked.
func TestPythonChecker(t *testing.T) {
	if err := exec.Command(python, "-c", "import onnx").Run(); err != nil {
		t.Skipf("%s cannot import onnx (%v): apt-get install -y python3-onnx", python, err)
	}
	dir := t.TempDir()
	var files []string
	write := func(name string, opt Options) {
		g, w := model(t, name, 1000, 224, 224)
		opt.ModelName = name
		path := filepath.Join(dir, name+".onnx")
		if opt.KeepBN {
			path = filepath.Join(dir, name+"_bn.onnx")
		}
		if err := WriteFile(path, g, w, opt); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	for _, v := range arch.Variants {
		if testing.Short() && !strings.HasSuffix(v.Name, "_c") {
			continue
		}
		write(v.Name, Options{})
	}
	write("dla34", Options{KeepBN: true, Batch: 2, Softmax: true, Opset: 13})
	write("dla46x_c", Options{KeepBN: true, Opset: 15})
	cmd := exec.Command(python, append([]string{testdata("check.py")}, files...)...)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("onnx checker: %v", err)
	}
}

// ortDir finds onnxruntime-node, or skips the test.
func ortDir(t *testing.T) (node, dir string) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found: install Node.js and onnxruntime-node to compare with ONNX Runtime")
	}
	dir = os.Getenv("ORT_NODE_DIR")
	if dir == "" {
		dir = "/tmp/ortnode"
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "onnxruntime-node")); err != nil {
		t.Skipf("onnxruntime-node not in %s: mkdir -p %s && cd %s && npm init -y && npm install --ignore-scripts onnxruntime-node@1.30.0 (or set ORT_NODE_DIR)", dir, dir, dir)
	}
	return node, dir
}

// runORT runs model file path on x with ONNX Runtime and returns its output.
func runORT(t *testing.T, node, dir, path string, x *tensor.Tensor) []float32 {
	t.Helper()
	in := path + ".in.f32"
	out := path + ".out.f32"
	raw := make([]byte, 0, 4*len(x.Data))
	for _, v := range x.Data {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	if err := os.WriteFile(in, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	dims := make([]string, len(x.Shape))
	for i, d := range x.Shape {
		dims[i] = strconv.Itoa(d)
	}
	shape := strings.Join(dims, ",")
	cmd := exec.Command(node, testdata("run_ort.js"), path, in, shape, out)
	cmd.Env = append(os.Environ(), "ORT_NODE_DIR="+dir, "NODE_PATH="+filepath.Join(dir, "node_modules"))
	msg, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("onnxruntime: %v\n%s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float32, len(b)/4)
	for i := range y {
		y[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return y
}

// maxRelDiff is max|a-b| / max|b|.
func maxRelDiff(a, b []float32) float64 {
	var d, m float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
		m = math.Max(m, math.Abs(float64(b[i])))
	}
	return d / m
}

// TestOnnxRuntime runs exported models in ONNX Runtime on a batch of three
// synthetic images and compares with the reference executor: max|diff| <=
// 1e-4 max|logit|.
func TestOnnxRuntime(t *testing.T) {
	node, dir := ortDir(t)
	tmp := t.TempDir()
	for i, c := range []struct {
		name string
		h, w int
		opt  Options
	}{
		{"dla46_c", 64, 64, Options{}},
		{"dla46x_c", 64, 96, Options{}},
		{"dla60x_c", 96, 64, Options{}},
		{"dla46_c", 64, 64, Options{KeepBN: true, Opset: 13, Batch: 3, Softmax: true}},
		{"dla102x", 32, 32, Options{Opset: 15}}, // residual roots
	} {
		if testing.Short() && c.name == "dla102x" {
			continue
		}
		g, w := model(t, c.name, 100, c.h, c.w)
		path := filepath.Join(tmp, fmt.Sprintf("%s_%d.onnx", c.name, i))
		if err := WriteFile(path, g, w, c.opt); err != nil {
			t.Fatal(err)
		}
		x := arch.SyntheticInput(3, c.h, c.w, 11)
		want, err := nn.RunReference(g, w, x)
		if err != nil {
			t.Fatal(err)
		}
		if c.opt.Softmax {
			want = softmaxRows(want)
		}
		got := runORT(t, node, dir, path, x)
		if len(got) != len(want.Data) {
			t.Fatalf("%s: onnxruntime gave %d values, want %d", c.name, len(got), len(want.Data))
		}
		d := maxRelDiff(got, want.Data)
		t.Logf("%s %dx%d %+v: max|diff|/max|y| = %.2g", c.name, c.h, c.w, c.opt, d)
		if d > 1e-4 {
			t.Errorf("%s: onnxruntime differs from the reference by %.3g relative", c.name, d)
		}
	}
}

func softmaxRows(y *tensor.Tensor) *tensor.Tensor {
	n, c := y.Shape[0], y.Shape[1]
	out := tensor.New(n, c)
	for i := range n {
		row := y.Data[i*c : (i+1)*c]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v) - mx)
		}
		for j, v := range row {
			out.Data[i*c+j] = float32(math.Exp(float64(v)-mx) / sum)
		}
	}
	return out
}
