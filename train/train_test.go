package train

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dla-go/dla"
	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/train/config"
	"github.com/dla-go/dla/weights"
)

// writeIDX writes an unsigned-byte IDX file (the MNIST format).
func writeIDX(t testing.TB, path string, dims []int, pix []byte) {
	t.Helper()
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(pix)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// stripes writes n 28x28 grey images in dir as an IDX pair: class k has a
// bright band over rows 2k..2k+3 on noise, which a network learns in a few
// hundred steps. It returns the images file.
func stripes(t testing.TB, dir, prefix string, n int, seed uint64) string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	pix := make([]byte, n*28*28)
	labels := make([]byte, n)
	for i := range n {
		k := i % 10
		labels[i] = byte(k)
		img := pix[i*784 : (i+1)*784]
		for p := range img {
			img[p] = byte(r.IntN(80))
		}
		for y := 2*k + 4; y < 2*k+8; y++ {
			for x := range 28 {
				img[y*28+x] = byte(180 + r.IntN(70))
			}
		}
	}
	images := filepath.Join(dir, prefix+"-images-idx3-ubyte")
	writeIDX(t, images, []int{n, 28, 28}, pix)
	writeIDX(t, filepath.Join(dir, prefix+"-labels-idx1-ubyte"), []int{n}, labels)
	return images
}

// smallConfig is the built-in model's shipped config on the stripes data,
// shortened for tests.
func smallConfig(t testing.TB, dir string, extra ...string) *config.Config {
	t.Helper()
	trainImages := stripes(t, dir, "train", 640, 1)
	evalImages := stripes(t, dir, "t10k", 100, 2)
	overrides := append([]string{
		"DataLoader.Train.dataset.image_root=" + trainImages,
		"DataLoader.Eval.dataset.image_root=" + evalImages,
		"DataLoader.Train.sampler.batch_size=16",
		"DataLoader.Eval.sampler.batch_size=50",
		"Global.output_dir=" + filepath.Join(dir, "out"),
		"Global.save_inference_dir=" + filepath.Join(dir, "inference"),
		"Global.epochs=2",
		"Global.print_batch_step=2",
		"Global.save_interval=1",
		"Global.seed=5",
	}, extra...)
	cfg, err := config.Load(filepath.Join("..", "configs", "builtin_fashion_mnist.yaml"), overrides)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A short training on a few hundred images lowers the loss, evaluates,
// and leaves loadable checkpoints, metrics, curves and an export behind.
func TestShortTrainingLearns(t *testing.T) {
	dir := t.TempDir()
	// Erasing parts of a few hundred striped images slows two epochs down
	// (the other tests keep it on); here the point is that training learns.
	cfg := smallConfig(t, dir, "DataLoader.Train.dataset.transform_ops.4.RandomErasing.EPSILON=0")
	var log bytes.Buffer
	res, err := Run(context.Background(), cfg, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	out := filepath.Join(dir, "out", "DLA46_c")
	lines := readMetrics(t, filepath.Join(out, metricsFile))
	var epochs []epochRecord
	for _, l := range lines {
		if l.Kind == "epoch" {
			epochs = append(epochs, l.epochRecord)
		}
	}
	if len(epochs) != 2 || epochs[1].Loss >= epochs[0].Loss || epochs[1].EvalTop1 == nil {
		t.Fatalf("epochs %+v\n%s", epochs, log.String())
	}
	if res.BestTop1 < 40 {
		t.Errorf("eval top-1 %.1f%% after two epochs on striped images", res.BestTop1)
	}
	for _, f := range []string{"latest.safetensors", "latest.state.safetensors", "best_model.safetensors",
		"epoch_1.safetensors", "epoch_2.state.safetensors", curvesFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	m, err := dla.Open(dla.WithWeights(filepath.Join(out, "best_model.safetensors")))
	if err != nil {
		t.Fatal(err)
	}
	if m.Classes() != 10 || m.Preprocessing().Resolved().Crop != 32 || !strings.Contains(m.Metadata()[dla.MetaTrainConfig], "DLA46_c") {
		t.Errorf("best model: %d classes, preprocessing %+v", m.Classes(), m.Preprocessing())
	}
	for _, f := range []string{"inference.safetensors", "inference.onnx"} {
		if _, err := os.Stat(filepath.Join(dir, "inference", f)); err != nil {
			t.Error(err)
		}
	}
}

type metricsLine struct {
	epochRecord
}

func readMetrics(t testing.TB, path string) []metricsLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []metricsLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l metricsLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

// TestMain lets the resume test run a training in a child process that it
// can kill with SIGKILL.
func TestMain(m *testing.M) {
	if dir := os.Getenv("DLA_TRAIN_CHILD"); dir != "" {
		cfg := smallConfig(&testing.T{}, dir, "Global.epochs=3")
		if _, err := Run(context.Background(), cfg, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A run killed with SIGKILL in its last epoch, resumed from latest, ends
// with the weights of a run never interrupted.
func TestResumeAfterKillIsExact(t *testing.T) {
	if testing.Short() || pureGo {
		t.Skip("trains three epochs twice")
	}
	whole := t.TempDir()
	if _, err := Run(context.Background(), smallConfig(t, whole, "Global.epochs=3"), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	killed := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DLA_TRAIN_CHILD="+killed)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	metrics := filepath.Join(killed, "out", "DLA46_c", metricsFile)
	deadline := time.Now().Add(2 * time.Minute)
	for !inEpoch(metrics, 3, 4) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child never reached epoch 3")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
	cfg := smallConfig(t, killed, "Global.epochs=3", "Global.checkpoints="+filepath.Join(killed, "out", "DLA46_c", "latest"))
	var log bytes.Buffer
	res, err := Run(context.Background(), cfg, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if res.Epochs != 1 || !strings.Contains(log.String(), "resuming") {
		t.Errorf("resumed run trained %d epochs\n%s", res.Epochs, log.String())
	}
	a := loadWeights(t, filepath.Join(whole, "out", "DLA46_c", "latest.safetensors"))
	b := loadWeights(t, filepath.Join(killed, "out", "DLA46_c", "latest.safetensors"))
	if ca, cb := weights.Checksum(a), weights.Checksum(b); ca != cb {
		t.Errorf("weights after resuming differ from the uninterrupted run's (%s, %s)", cb, ca)
	}
	// The metrics file holds each epoch once.
	n := 0
	for _, l := range readMetrics(t, metrics) {
		if l.Kind == "epoch" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d epoch lines in the resumed run's metrics", n)
	}
}

// inEpoch reports whether the metrics file has the step line of epoch e,
// iteration iter.
func inEpoch(path string, e, iter int) bool {
	b, err := os.ReadFile(path)
	return err == nil && bytes.Contains(b, []byte(fmt.Sprintf(`"kind":"step","epoch":%d,"iter":%d,`, e, iter)))
}

func loadWeights(t testing.TB, path string) map[string]*tensor.Tensor {
	t.Helper()
	f, err := weights.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return f.Tensors
}

// Fine-tuning from a model with another class count keeps everything but
// the classifier, which starts afresh, and says so.
func TestFineTuneReplacesClassifier(t *testing.T) {
	dir := t.TempDir()
	src, err := dla.Load("dla46_c", dla.WithSyntheticWeights(3), dla.WithClasses(7))
	if err != nil {
		t.Fatal(err)
	}
	pre := filepath.Join(dir, "pre.safetensors")
	if err := weights.WriteSafetensors(pre, map[string]*tensor.Tensor(src.Weights()), src.Describe(nil)); err != nil {
		t.Fatal(err)
	}
	cfg := smallConfig(t, dir, "Global.epochs=1", "Global.pretrained_model="+strings.TrimSuffix(pre, ".safetensors"))
	var log bytes.Buffer
	if _, err := Run(context.Background(), cfg, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "classifier has 7 classes") || !strings.Contains(log.String(), "starting from "+pre) {
		t.Errorf("log:\n%s", log.String())
	}
}

// PaddleClas's own DLA config runs unchanged once its data paths exist: an
// ImageNet-style folder with list files under ./dataset/ILSVRC2012/.
func TestPaddleClasConfigRuns(t *testing.T) {
	if testing.Short() || pureGo {
		t.Skip("trains at 224x224")
	}
	cfgPath, err := filepath.Abs(filepath.Join("..", "testdata", "paddleclas", "DLA", "DLA46_c.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	images, err := filepath.Abs(filepath.Join("..", "testdata", "vision", "images"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	root := filepath.Join("dataset", "ILSVRC2012")
	if err := os.MkdirAll(filepath.Join(root, "train"), 0o755); err != nil {
		t.Fatal(err)
	}
	var list strings.Builder
	for i, name := range []string{"q90_420.jpg", "rgb8.png", "q95_444.jpg", "progressive.jpg"} {
		b, err := os.ReadFile(filepath.Join(images, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "train", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&list, "train/%s %d\n", name, 100*i)
	}
	for _, l := range []string{"train_list.txt", "val_list.txt"} {
		if err := os.WriteFile(filepath.Join(root, l), []byte(list.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(cfgPath, []string{"Global.epochs=1", "DataLoader.Train.sampler.batch_size=2",
		"DataLoader.Eval.sampler.batch_size=4", "Global.seed=1"})
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	res, err := Run(context.Background(), cfg, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "device") || res.Epochs != 1 || res.BestEpoch != 1 {
		t.Errorf("result %+v\n%s", res, log.String())
	}
	for _, f := range []string{filepath.Join("output", "DLA46_c", "best_model.safetensors"), filepath.Join("inference", "inference.onnx")} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
}
