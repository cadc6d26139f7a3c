package data

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dla-go/dla/vision"
)

func TestReadList(t *testing.T) {
	in := "a/b.jpg 3\n\n  my photos/c d.png\t 12 \r\n/abs/x.jpg 0\n"
	items, err := ReadList(strings.NewReader(in), "/root")
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{{"/root/a/b.jpg", 3}, {"/root/my photos/c d.png", 12}, {"/abs/x.jpg", 0}}
	if len(items) != len(want) {
		t.Fatalf("%v", items)
	}
	for i := range want {
		if items[i] != want[i] {
			t.Errorf("item %d: %+v, want %+v", i, items[i], want[i])
		}
	}
	bad := map[string]string{
		"a.jpg 1\nno_label\n":           "line 2",
		"a.jpg -1\n":                    "line 1",
		"a.jpg x\n":                     "line 1",
		"\n\na.jpg 99999999999999999\n": "line 3",
		"a.jpg 1\n" + strings.Repeat("x", MaxLineBytes+10) + " 1\n": "line 2",
	}
	for in, where := range bad {
		_, err := ReadList(strings.NewReader(in), "")
		if err == nil || !strings.Contains(err.Error(), where) {
			t.Errorf("%.20q: err = %v, want it to name %s", in, err, where)
		}
	}
}

func TestLoadListRoot(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "val_list.txt")
	if err := os.WriteFile(p, []byte("x/1.jpg 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	items, err := LoadList(p, "")
	if err != nil || items[0].Path != filepath.Join(dir, "x/1.jpg") {
		t.Errorf("%v %v", items, err)
	}
	src, classes, err := Open(p, "")
	if err != nil || classes != nil || src.Len() != 1 || src.Name(0) != filepath.Join(dir, "x/1.jpg") || src.Label(0) != 4 {
		t.Errorf("Open(list): %v %v", classes, err)
	}
	other := t.TempDir()
	if src, _, err := Open(p, other); err != nil || src.Name(0) != filepath.Join(other, "x/1.jpg") {
		t.Errorf("Open(list, root): %v", err)
	}
	if _, _, err := Open(p, filepath.Join(other, "none")); err == nil {
		t.Error("a missing image root accepted (PaddleClas asserts it exists)")
	}
	items, err = LoadList(p, "/data")
	if err != nil || items[0].Path != "/data/x/1.jpg" {
		t.Errorf("%v %v", items, err)
	}
	if _, err := LoadList(filepath.Join(dir, "none.txt"), ""); err == nil {
		t.Error("missing list loaded")
	}
}

func touch(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestImageFolder(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"dog/b.jpg", "dog/a.PNG", "dog/notes.txt", "dog/sub/c.jpg", "dog/sub b/d.jpg",
		"cat/z.webp", "Bird/x.bmp", "empty/.keep"} {
		touch(t, filepath.Join(root, p), nil)
	}
	touch(t, filepath.Join(root, "loose.jpg"), nil)
	items, classes, err := ImageFolder(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(classes, ",") != "Bird,cat,dog,empty" {
		t.Errorf("classes %v", classes)
	}
	var got []string
	for _, it := range items {
		rel, _ := filepath.Rel(root, it.Path)
		got = append(got, rel+":"+string(rune('0'+it.Label)))
	}
	// sorted(os.walk()) puts "dog/sub" before "dog/sub b" (a prefix sorts first).
	want := "Bird/x.bmp:0 cat/z.webp:1 dog/a.PNG:2 dog/b.jpg:2 dog/sub/c.jpg:2 dog/sub b/d.jpg:2"
	if strings.Join(got, " ") != want {
		t.Errorf("items\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	if src, cl, err := Open(root, ""); err != nil || src.Len() != len(items) || len(cl) != 4 {
		t.Errorf("Open(folder): %v, %v", cl, err)
	}
	items, _, err = ImageFolder(root, []string{".webp"})
	if err != nil || len(items) != 1 {
		t.Errorf("extension filter: %v %v", items, err)
	}
	if _, _, err := ImageFolder(filepath.Join(root, "cat"), nil); err == nil {
		t.Error("folder without class folders accepted")
	}
}

func TestReadLabels(t *testing.T) {
	names, err := ReadLabels(strings.NewReader("0 tench, Tinca tinca\n1 goldfish\n\n"))
	if err != nil || len(names) != 2 || names[0] != "tench, Tinca tinca" {
		t.Errorf("%q %v", names, err)
	}
	for _, in := range []string{"1 a\n", "0 a\n2 b\n", "zero a\n", "", "0\n"} {
		if _, err := ReadLabels(strings.NewReader(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestImageNet1k(t *testing.T) {
	n := ImageNet1k()
	if len(n) != 1000 {
		t.Fatalf("%d names", len(n))
	}
	checks := map[int]string{0: "tench, Tinca tinca", 1: "goldfish, Carassius auratus", 134: "crane", 517: "crane",
		999: "toilet tissue, toilet paper, bathroom tissue"}
	for i, w := range checks {
		if n[i] != w {
			t.Errorf("class %d: %q, want %q", i, n[i], w)
		}
	}
	n[0] = "changed"
	if ImageNet1k()[0] != "tench, Tinca tinca" {
		t.Error("ImageNet1k returned shared storage")
	}
}

func idxBytes(dims []uint32, data []byte) []byte {
	b := []byte{0, 0, 8, byte(len(dims))}
	for _, d := range dims {
		b = append(b, byte(d>>24), byte(d>>16), byte(d>>8), byte(d))
	}
	return append(b, data...)
}

func TestReadIDX(t *testing.T) {
	raw := idxBytes([]uint32{2, 3, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(raw)
	w.Close()
	for name, in := range map[string][]byte{"raw": raw, "gzip": gz.Bytes()} {
		m, err := ReadIDX(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(m.Dims) != 3 || m.Dims[0] != 2 || !bytes.Equal(m.Item(1), []byte{7, 8, 9, 10, 11, 12}) {
			t.Errorf("%s: %+v", name, m)
		}
	}
	bad := map[string][]byte{
		"magic":     {1, 0, 8, 1, 0, 0, 0, 0},
		"type":      {0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0},
		"truncated": raw[:len(raw)-1],
		"huge":      idxBytes([]uint32{1 << 31, 1 << 31}, nil),
		"claims":    idxBytes([]uint32{1 << 29}, []byte{1}),
		"nodims":    {0, 0, 8, 0},
	}
	for name, in := range bad {
		if _, err := ReadIDX(bytes.NewReader(in)); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func writePNG(t *testing.T, path string, w, h int, seed uint8) {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x*7) + seed, uint8(y * 5), seed * 3, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	touch(t, path, b.Bytes())
}

func TestLoader(t *testing.T) {
	dir := t.TempDir()
	var items []Item
	for i := range 11 {
		p := filepath.Join(dir, string(rune('a'+i))+".png")
		switch i {
		case 3:
			touch(t, p, []byte("not a png"))
		case 8: // missing file
		default:
			writePNG(t, p, 40+i, 30+2*i, uint8(i))
		}
		items = append(items, Item{Path: p, Label: i % 4})
	}
	opt := vision.Options{ResizeShort: 36, Crop: 32}
	run := func(workers int, tr Transform) ([]*Batch, Stats) {
		var got []*Batch
		l := &Loader{Source: Items(items), BatchSize: 4, Workers: workers, Options: opt, Transform: tr}
		st, err := l.Run(context.Background(), func(b *Batch) error { got = append(got, b); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return got, st
	}
	batches, st := run(3, nil)
	if st != (Stats{Items: 11, Loaded: 9, Failed: 2}) || len(batches) != 3 {
		t.Fatalf("stats %+v, %d batches", st, len(batches))
	}
	if batches[0].X.Shape[0] != 3 || batches[0].Errors[0].Index != 3 || batches[2].Errors[0].Index != 8 {
		t.Errorf("failed items not reported in place: %+v", batches[0].Errors)
	}
	per := 3 * 32 * 32
	for _, b := range batches {
		for r, idx := range b.Indices {
			want := make([]float32, per)
			img, err := vision.DecodeFile(items[idx].Path, opt)
			if err != nil {
				t.Fatal(err)
			}
			if err := vision.PreprocessInto(want, img, opt); err != nil {
				t.Fatal(err)
			}
			if b.Labels[r] != items[idx].Label {
				t.Errorf("item %d label %d", idx, b.Labels[r])
			}
			for k := range want {
				if b.X.Data[r*per+k] != want[k] {
					t.Fatalf("batch %d row %d (item %d) differs from PreprocessInto", b.Number, r, idx)
				}
			}
		}
	}
	// Training transforms are reproducible whatever the worker count.
	p, err := Compile([]Op{DecodeImage{}, RandCropImage{vision.DefaultRandCrop(32)}, RandFlipImage{1},
		NormalizeImage{Scale: 1.0 / 255, Mean: vision.ImageNetMean, Std: vision.ImageNetStd}})
	if err != nil {
		t.Fatal(err)
	}
	tr := p.Transform(7, 0)
	b1, _ := run(1, tr)
	b4, _ := run(4, tr)
	for i := range b1 {
		for k := range b1[i].X.Data {
			if b1[i].X.Data[k] != b4[i].X.Data[k] {
				t.Fatal("training batches depend on the worker count")
			}
		}
	}
	// The consumer's error stops the run.
	stop := errors.New("stop")
	l := &Loader{Source: Items(items), BatchSize: 2, Options: opt}
	if _, err := l.Run(context.Background(), func(*Batch) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Run(ctx, func(*Batch) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: err = %v", err)
	}
	if _, err := (&Loader{Source: Items(items), Shape: []int{3, -1, 2}}).Run(context.Background(), nil); err == nil {
		t.Error("bad shape accepted")
	}
	if _, err := (&Loader{}).Run(context.Background(), nil); err == nil {
		t.Error("loader without a source ran")
	}
}

func FuzzReadList(f *testing.F) {
	f.Add("a/b.jpg 3\n\nc d.png 12\r\n")
	f.Add("x 1\ny\n")
	f.Add("  \t 7\n")
	f.Fuzz(func(t *testing.T, s string) {
		items, err := ReadList(strings.NewReader(s), "r")
		if err != nil {
			return
		}
		for _, it := range items {
			if it.Label < 0 || it.Label > MaxLabel || it.Path == "" {
				t.Fatalf("bad item %+v", it)
			}
		}
	})
}
