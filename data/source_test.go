package data

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dla-go/dla/vision"
)

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// writeIDX writes n grey h x w images (pixel i of image k is k*16+i) and
// their labels (k % 3) as name-images-idx3-ubyte[.gz] and the labels file.
func writeIDX(t *testing.T, dir, name string, n, h, w int, gz bool) string {
	t.Helper()
	pix := make([]byte, n*h*w)
	labels := make([]byte, n)
	for k := range n {
		for i := range h * w {
			pix[k*h*w+i] = byte(k*16 + i)
		}
		labels[k] = byte(k % 3)
	}
	images := idxBytes([]uint32{uint32(n), uint32(h), uint32(w)}, pix)
	lab := idxBytes([]uint32{uint32(n)}, labels)
	ext := ""
	if gz {
		images, lab, ext = gzipped(images), gzipped(lab), ".gz"
	}
	p := filepath.Join(dir, name+"-images-idx3-ubyte"+ext)
	touch(t, p, images)
	touch(t, filepath.Join(dir, name+"-labels-idx1-ubyte"+ext), lab)
	return p
}

func TestIDXSource(t *testing.T) {
	dir := t.TempDir()
	for _, gz := range []bool{false, true} {
		p := writeIDX(t, dir, "tiny", 5, 3, 2, gz)
		for _, open := range []func() (Source, []string, error){
			func() (Source, []string, error) { return OpenDataset(p, "") },
			func() (Source, []string, error) { return Open(p, "") },
		} {
			src, classes, err := open()
			if err != nil {
				t.Fatal(err)
			}
			if src.Len() != 5 || src.Label(4) != 1 || classes != nil || src.Name(2) != filepath.Base(p)+"[2]" {
				t.Errorf("%d items, label %d, classes %v, name %q", src.Len(), src.Label(4), classes, src.Name(2))
			}
			m, err := src.Image(2, vision.Options{})
			if err != nil || m.W != 2 || m.H != 3 {
				t.Fatalf("%v %+v", err, m)
			}
			for i := range 6 {
				g := byte(32 + i)
				if !bytes.Equal(m.Pix[3*i:3*i+3], []byte{g, g, g}) {
					t.Fatalf("pixel %d is %v, want grey %d in every channel", i, m.Pix[3*i:3*i+3], g)
				}
			}
		}
	}
	// Labels named explicitly (cls_label_path), and the errors.
	p := writeIDX(t, dir, "a", 4, 2, 2, true)
	other := writeIDX(t, dir, "b", 4, 2, 2, false)
	if src, _, err := OpenDataset(p, strings.Replace(other, "images-idx3", "labels-idx1", 1)); err != nil || src.Len() != 4 {
		t.Errorf("explicit labels: %v", err)
	}
	five := writeIDX(t, dir, "c", 5, 2, 2, false)
	if _, _, err := OpenDataset(p, strings.Replace(five, "images-idx3", "labels-idx1", 1)); err == nil || !strings.Contains(err.Error(), "want [4] labels") {
		t.Errorf("mismatched labels: %v", err)
	}
	touch(t, filepath.Join(dir, "d-images-idx3-ubyte"), idxBytes([]uint32{1, 1, 1, 1}, []byte{1}))
	if _, _, err := OpenDataset(filepath.Join(dir, "d-images-idx3-ubyte"), ""); err == nil {
		t.Error("images without a labels file accepted")
	}
	touch(t, filepath.Join(dir, "d-labels-idx1-ubyte"), idxBytes([]uint32{1}, []byte{1}))
	if _, _, err := OpenDataset(filepath.Join(dir, "d-images-idx3-ubyte"), ""); err == nil || !strings.Contains(err.Error(), "want grey images") {
		t.Errorf("4-d images: %v", err)
	}
	touch(t, filepath.Join(dir, "images.bin"), idxBytes([]uint32{1, 1, 1}, []byte{1}))
	if _, _, err := OpenDataset(filepath.Join(dir, "images.bin"), ""); err == nil || !strings.Contains(err.Error(), "cannot name its labels file") {
		t.Errorf("unnamed labels: %v", err)
	}
	if _, _, err := OpenDataset(filepath.Join(dir, "a-labels-idx1-ubyte.gz"), ""); err == nil {
		t.Error("a labels file opened as images")
	}
}

func TestIDXLabelsPath(t *testing.T) {
	for in, want := range map[string]string{
		"/d/train-images-idx3-ubyte.gz":               "/d/train-labels-idx1-ubyte.gz",
		"t10k-images-idx3-ubyte":                      "t10k-labels-idx1-ubyte",
		"x/train-images.idx3-ubyte":                   "x/train-labels.idx1-ubyte",
		"images-idx3-ubyte/t10k-images-idx3-ubyte.gz": "images-idx3-ubyte/t10k-labels-idx1-ubyte.gz",
	} {
		if got, err := IDXLabelsPath(in); err != nil || got != want {
			t.Errorf("%s: %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := IDXLabelsPath("/d/images.gz"); err == nil {
		t.Error("no name to derive from, yet a labels path")
	}
}

func TestOpenDataset(t *testing.T) {
	root := t.TempDir()
	writePNG(t, filepath.Join(root, "cat", "a.png"), 4, 4, 1)
	writePNG(t, filepath.Join(root, "dog", "b.png"), 4, 4, 2)
	list := filepath.Join(t.TempDir(), "train_list.txt")
	touch(t, list, []byte("dog/b.png 1\ncat/a.png 0\n"))
	src, classes, err := OpenDataset(root, list)
	if err != nil || src.Len() != 2 || src.Name(0) != filepath.Join(root, "dog/b.png") || src.Label(0) != 1 || classes != nil {
		t.Errorf("list: %v %v", classes, err)
	}
	if m, err := src.Image(1, vision.Options{}); err != nil || m.W != 4 {
		t.Errorf("list image: %v", err)
	}
	src, classes, err = OpenDataset(root, "")
	if err != nil || src.Len() != 2 || !reflect.DeepEqual(classes, []string{"cat", "dog"}) {
		t.Errorf("folder: %v %v", classes, err)
	}
	if _, _, err := OpenDataset(list, ""); err == nil || !strings.Contains(err.Error(), "neither a folder nor an IDX images file") {
		t.Errorf("list as image root: %v", err)
	}
	for _, bad := range [][2]string{{"", list}, {filepath.Join(root, "none"), ""}, {root, filepath.Join(root, "none.txt")}} {
		if _, _, err := OpenDataset(bad[0], bad[1]); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestFashionMNIST reads Debian's dataset-fashion-mnist files when installed.
func TestFashionMNIST(t *testing.T) {
	if _, err := os.Stat(FashionMNISTDir); err != nil {
		t.Skip("dataset-fashion-mnist not installed")
	}
	for name, n := range map[string]int{"t10k": 10000, "train": 60000} {
		src, classes, err := Open(filepath.Join(FashionMNISTDir, name+"-images-idx3-ubyte.gz"), "")
		if err != nil {
			t.Fatal(err)
		}
		if src.Len() != n || !reflect.DeepEqual(classes, FashionMNISTClasses) {
			t.Errorf("%s: %d images, classes %v", name, src.Len(), classes)
		}
		var count [10]int
		for i := range src.Len() {
			count[src.Label(i)]++
		}
		for c, k := range count {
			if k != n/10 {
				t.Errorf("%s: class %d has %d images, want %d", name, c, k, n/10)
			}
		}
		if m, err := src.Image(0, vision.Options{}); err != nil || m.W != 28 || m.H != 28 {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Other labels paired with Fashion-MNIST's images get no names.
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(FashionMNISTDir, "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	lb, err := ReadIDX(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	lb.Data[0] = (lb.Data[0] + 1) % 10
	touch(t, filepath.Join(dir, "l"), idxBytes([]uint32{10000}, lb.Data))
	if _, classes, err := OpenDataset(filepath.Join(FashionMNISTDir, "t10k-images-idx3-ubyte.gz"), filepath.Join(dir, "l")); err != nil || classes != nil {
		t.Errorf("changed labels: classes %v, %v", classes, err)
	}
}

func TestEpochOrder(t *testing.T) {
	if got := EpochOrder(5, false, 9, 3); !reflect.DeepEqual(got, []int{0, 1, 2, 3, 4}) {
		t.Errorf("unshuffled order %v", got)
	}
	a := EpochOrder(1000, true, 1, 0)
	sorted := slices.Clone(a)
	slices.Sort(sorted)
	if !reflect.DeepEqual(sorted, EpochOrder(1000, false, 0, 0)) {
		t.Fatal("not a permutation")
	}
	if !reflect.DeepEqual(a, EpochOrder(1000, true, 1, 0)) || reflect.DeepEqual(a, EpochOrder(1000, true, 1, 1)) ||
		reflect.DeepEqual(a, EpochOrder(1000, true, 2, 0)) {
		t.Error("the order is not a function of (seed, epoch) alone")
	}
	// The streams are written out over PCG so that they never change: this
	// permutation must stay as it is for checkpoints to resume exactly.
	if got := EpochOrder(10, true, 42, 7); !reflect.DeepEqual(got, []int{7, 6, 4, 0, 9, 5, 2, 3, 1, 8}) {
		t.Errorf("EpochOrder(10, true, 42, 7) = %#v: the shuffle changed", got)
	}
	d := stream(1, streamTransform, 0, 0)
	var hist [3]int
	for range 30000 {
		f := d.Float64()
		if f < 0 || f >= 1 {
			t.Fatalf("Float64 %v", f)
		}
		hist[d.IntN(3)]++
	}
	for _, h := range hist {
		if h < 9500 || h > 10500 {
			t.Errorf("IntN(3) histogram %v", hist)
		}
	}
}

// memSource is an in-memory Source of w x w images whose pixels are the
// item's index.
type memSource struct {
	n, w  int
	mu    sync.Mutex
	calls int
}

func (s *memSource) Len() int          { return s.n }
func (s *memSource) Label(i int) int   { return i % 7 }
func (s *memSource) Name(i int) string { return "mem" }
func (s *memSource) Image(i int, _ vision.Options) (*vision.RGB, error) {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	m := vision.NewRGB(s.w, s.w)
	for k := range m.Pix {
		m.Pix[k] = byte(i)
	}
	return m, nil
}

func TestLoaderEpochs(t *testing.T) {
	src := &memSource{n: 23, w: 2}
	// The transform writes the item's index, so a batch shows which items it holds.
	tr := func(dst []float32, img *vision.RGB, index int) error {
		if int(img.Pix[0]) != index {
			t.Errorf("item %d got the image of item %d", index, img.Pix[0])
		}
		for i := range dst {
			dst[i] = float32(index)
		}
		return nil
	}
	for _, c := range []struct {
		shuffle, dropLast bool
		bs, batches, last int
	}{
		{false, false, 5, 5, 3}, {true, false, 5, 5, 3}, {true, true, 5, 4, 5}, {false, true, 23, 1, 23}, {true, true, 24, 0, 0},
	} {
		var got [][]int
		run := func(workers int) {
			got = nil
			l := &Loader{Source: src, BatchSize: c.bs, Shuffle: c.shuffle, Seed: 3, Epoch: 2, DropLast: c.dropLast, Workers: workers,
				Shape: []int{1, 1, 1}, Transform: tr}
			if l.Batches() != c.batches {
				t.Errorf("%+v: Batches() = %d", c, l.Batches())
			}
			st, err := l.Run(context.Background(), func(b *Batch) error {
				for r, idx := range b.Indices {
					if b.X.Data[r] != float32(idx) || b.Labels[r] != idx%7 {
						t.Errorf("row %d holds %v, label %d, for item %d", r, b.X.Data[r], b.Labels[r], idx)
					}
				}
				got = append(got, b.Indices)
				return nil
			})
			if err != nil || st.Failed != 0 {
				t.Fatal(err, st)
			}
		}
		run(1)
		one := got
		run(3)
		if !reflect.DeepEqual(one, got) {
			t.Errorf("%+v: the batches depend on the worker count", c)
		}
		if len(got) != c.batches || c.batches > 0 && len(got[len(got)-1]) != c.last {
			t.Errorf("%+v: %d batches, last of %d", c, len(got), len(got[len(got)-1]))
		}
		order := EpochOrder(23, c.shuffle, 3, 2)
		if flat := slices.Concat(got...); !slices.Equal(flat, order[:len(flat)]) {
			t.Errorf("%+v: items %v, want the epoch order %v", c, flat, order)
		}
	}
}

// preprocessOnly is Items whose images can only be preprocessed, not
// decoded: a Loader that gets batches from it used Preprocess.
type preprocessOnly struct{ Items }

func (preprocessOnly) Image(int, vision.Options) (*vision.RGB, error) {
	return nil, errors.New("decoded instead of preprocessed")
}

// TestLoaderJPEGs checks that a Loader over image files runs the eval
// pipeline through Items.Preprocess, with the floats of decoding each file
// and then PreprocessInto, on photos in their EXIF orientations, fixtures
// of every chroma subsampling and files that fail.
func TestLoaderJPEGs(t *testing.T) {
	dir := t.TempDir()
	var items []Item
	add := func(name string, b []byte) {
		p := filepath.Join(dir, name)
		if b != nil {
			touch(t, p, b)
		}
		items = append(items, Item{Path: p, Label: len(items) % 3})
	}
	srcs, _ := filepath.Glob("../testdata/vision/photos/images/*.jpg")
	for _, f := range []string{"exif5.jpg", "exif8.jpg", "q90_422.jpg", "q90_440.jpg", "progressive.jpg", "cmyk.jpg", "truncated.jpg", "gray8.png"} {
		srcs = append(srcs, filepath.Join("../testdata/vision/images", f))
	}
	for i, p := range srcs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		add(filepath.Base(p), b)
		if i == 2 {
			add("garbage.jpg", []byte("\xff\xd8 not a JPEG"))
			add("missing.jpg", nil)
		}
	}
	for _, mode := range []vision.Mode{vision.ModePaddle, vision.ModeTimm} {
		opt := vision.Options{Mode: mode, ResizeShort: 40, Crop: 32}
		per := 3 * 32 * 32
		failed := map[int]bool{}
		l := &Loader{Source: preprocessOnly{Items(items)}, BatchSize: 5, Options: opt}
		st, err := l.Run(context.Background(), func(b *Batch) error {
			for _, e := range b.Errors {
				failed[e.Index] = true
			}
			for r, idx := range b.Indices {
				want := make([]float32, per)
				img, err := vision.DecodeFile(items[idx].Path, opt)
				if err == nil {
					err = vision.PreprocessInto(want, img, opt)
				}
				if err != nil {
					t.Fatalf("%s: %v", items[idx].Path, err)
				}
				if !slices.Equal(b.X.Data[r*per:(r+1)*per], want) {
					t.Errorf("%s %s: the batch row differs from decoding and PreprocessInto", mode, items[idx].Path)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if st.Failed != 2 || !failed[3] || !failed[4] || st.Loaded != len(items)-2 {
			t.Errorf("%s: %+v, failed %v", mode, st, failed)
		}
	}
	// With a training Transform the loader decodes.
	l := &Loader{Source: preprocessOnly{Items(items)}, BatchSize: 5, Shape: []int{1, 1, 1},
		Transform: func([]float32, *vision.RGB, int) error { return nil }}
	if st, err := l.Run(context.Background(), func(*Batch) error { return nil }); err != nil || st.Loaded != 0 {
		t.Errorf("with a Transform: %+v, %v", st, err)
	}
}
