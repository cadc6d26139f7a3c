package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dla-go/dla/internal/safetensorsrules"
	"github.com/dla-go/dla/tensor"
)

const fixtures = "../testdata/weights"

type manifest struct {
	Models map[string]struct {
		Checksum   string `json:"checksum"`
		Tensors    int    `json:"tensors"`
		NumClasses int    `json:"num_classes"`
	}
	Tiny          map[string][]float64
	TinyTorch     map[string]tinyTensor
	TinyStateDict map[string]map[string]tinyTensor // dtype tag -> name -> float32 values
}

type tinyTensor struct {
	Shape  []int     `json:"shape"`
	Values []float64 `json:"values"`
}

func readManifest(t testing.TB) manifest {
	b, err := os.ReadFile(filepath.Join(fixtures, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	var m manifest
	m.Models = map[string]struct {
		Checksum   string `json:"checksum"`
		Tensors    int    `json:"tensors"`
		NumClasses int    `json:"num_classes"`
	}{}
	for k, v := range raw {
		var err error
		switch k {
		case "tiny":
			err = json.Unmarshal(v, &m.Tiny)
		case "tiny_torch":
			err = json.Unmarshal(v, &m.TinyTorch)
		case "tiny_state_dict":
			err = json.Unmarshal(v, &m.TinyStateDict)
		default:
			var e = m.Models[k]
			err = json.Unmarshal(v, &e)
			m.Models[k] = e
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func load(t testing.TB, name string) *File {
	t.Helper()
	f, err := Load(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Every format of a model loads to exactly the tensors PyTorch held (the
// generator rounds the weights to the narrowest dtype first), with timm names.
func TestFormatsMatchPyTorch(t *testing.T) {
	m := readManifest(t)
	cases := []struct{ file, model, format string }{
		{"dla46x_c_zip_f32.pth", "dla46x_c", FormatTorchZip},
		{"dla46x_c_official_bf16.pth", "dla46x_c", FormatTorchZip},
		{"dla46x_c_paddle.pdparams", "dla46x_c", FormatPaddle},
		{"dla46_c_legacy_f16.pth", "dla46_c", FormatTorchLegacy},
	}
	names := map[string][]string{}
	for _, c := range cases {
		f := load(t, c.file)
		if f.Format != c.format {
			t.Errorf("%s: format %q, want %q", c.file, f.Format, c.format)
		}
		want := m.Models[c.model]
		if len(f.Tensors) != want.Tensors {
			t.Errorf("%s: %d tensors, want %d", c.file, len(f.Tensors), want.Tensors)
		}
		if got := Checksum(f.Tensors); got != want.Checksum {
			t.Errorf("%s: checksum %s, want PyTorch's %s", c.file, got, want.Checksum)
		}
		keys := sortedKeys(f.Tensors)
		for _, k := range keys {
			if strings.HasPrefix(k, "module.") || strings.Contains(k, "num_batches_tracked") ||
				strings.HasSuffix(k, "._mean") || strings.HasSuffix(k, "._variance") || strings.HasPrefix(k, "level4.project.") {
				t.Errorf("%s: non-canonical name %q", c.file, k)
			}
		}
		if prev, ok := names[c.model]; ok && strings.Join(prev, ",") != strings.Join(keys, ",") {
			t.Errorf("%s: names differ from the other %s files", c.file, c.model)
		}
		names[c.model] = keys
		if fc := f.Tensors["fc.weight"]; fc == nil || !tensor.SameShape(fc.Shape, []int{10, 256, 1, 1}) {
			t.Errorf("%s: fc.weight missing or mis-shaped", c.file)
		}
		if g := f.Tensors["level2.tree1.conv2.weight"]; c.model == "dla46x_c" && (g == nil || !tensor.SameShape(g.Shape, []int{64, 2, 3, 3})) {
			t.Errorf("%s: grouped conv weight level2.tree1.conv2.weight missing or mis-shaped", c.file)
		}
	}
}

func TestTinySafetensors(t *testing.T) {
	m := readManifest(t)
	f := load(t, "tiny.safetensors")
	if f.Format != FormatSafetensors || f.Metadata["note"] != "tiny" {
		t.Fatalf("format %q, metadata %v", f.Format, f.Metadata)
	}
	for name, want := range m.Tiny {
		got := f.Tensors[name]
		if got == nil || !tensor.SameShape(got.Shape, []int{2, 3}) {
			t.Fatalf("%s: missing or mis-shaped", name)
		}
		for i, w := range want {
			if got.Data[i] != float32(w) {
				t.Errorf("%s[%d] = %v, want %v", name, i, got.Data[i], w)
			}
		}
	}
}

// The tiny checkpoints hold a transposed view and an offset view of one shared
// storage, a float16 tensor and an int64 counter.
func TestTinyCheckpoints(t *testing.T) {
	m := readManifest(t)
	for _, name := range []string{"tiny_zip.pth", "tiny_legacy.pth", "tiny_paddle2.pdparams", "tiny_paddle4.pdparams"} {
		f := load(t, name)
		want := len(m.TinyTorch)
		if strings.Contains(name, "paddle") {
			want = 3
		}
		if len(f.Tensors) != want {
			t.Errorf("%s: %d tensors (%v), want %d", name, len(f.Tensors), sortedKeys(f.Tensors), want)
		}
		for k, got := range f.Tensors {
			w, ok := m.TinyTorch[k]
			if !ok {
				t.Errorf("%s: unexpected tensor %q", name, k)
				continue
			}
			if !tensor.SameShape(got.Shape, w.Shape) {
				t.Errorf("%s: %s shape %v, want %v", name, k, got.Shape, w.Shape)
				continue
			}
			for i, v := range w.Values {
				if got.Data[i] != float32(v) {
					t.Errorf("%s: %s[%d] = %v, want %v", name, k, i, got.Data[i], v)
					break
				}
			}
		}
	}
}

func TestEvilPickleRefused(t *testing.T) {
	_, err := Load(filepath.Join(fixtures, "evil.pdparams"))
	if err == nil || !strings.Contains(err.Error(), "posix.system") {
		t.Fatalf("error %v does not name the refused global", err)
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	src := load(t, "dla46x_c_official_bf16.pth")
	dir := t.TempDir()
	out := filepath.Join(dir, "w.safetensors")
	meta := map[string]string{"architecture": "dla46x_c"}
	if err := WriteSafetensors(out, src.Tensors, meta); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(out)
	if hl := binary.LittleEndian.Uint64(b1); (8+hl)%8 != 0 {
		t.Errorf("data starts at %d, not 8-byte aligned", 8+hl)
	}
	back, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if back.Format != FormatSafetensors || back.Metadata["architecture"] != "dla46x_c" {
		t.Fatalf("format %q, metadata %v", back.Format, back.Metadata)
	}
	if Checksum(back.Tensors) != Checksum(src.Tensors) {
		t.Fatal("tensors changed in the round trip")
	}
	// Deterministic bytes, no temporary files left.
	if err := WriteSafetensors(out, back.Tensors, meta); err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(out)
	if !bytes.Equal(b1, b2) {
		t.Error("writing the same tensors twice gave different bytes")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	// Raw read keeps names as stored.
	fh, _ := os.Open(out)
	defer fh.Close()
	ts, md, err := ReadSafetensors(fh, int64(len(b2)))
	if err != nil || len(ts) != len(src.Tensors) || md["architecture"] != "dla46x_c" {
		t.Fatalf("ReadSafetensors: %d tensors, %v, %v", len(ts), md, err)
	}
}

func TestEncodeSafetensorsRefusesBadTensors(t *testing.T) {
	bad := []map[string]*tensor.Tensor{
		{"x": {Shape: []int{2, 2}, Data: []float32{1}}},
		{"__metadata__": tensor.New(1)},
		{"": tensor.New(1)},
	}
	for i, ts := range bad {
		if err := EncodeSafetensors(&bytes.Buffer{}, ts, nil); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
	// A scalar and an empty tensor are fine.
	ts := map[string]*tensor.Tensor{"s": {Shape: []int{}, Data: []float32{3}}, "e": tensor.New(0, 5)}
	var buf bytes.Buffer
	if err := EncodeSafetensors(&buf, ts, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := safetensorsrules.CheckLayout(buf.Bytes()); err != nil {
		t.Errorf("reference rules: %v", err)
	}
	got, _, err := ReadSafetensors(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil || got["s"].Data[0] != 3 || len(got["e"].Data) != 0 || !tensor.SameShape(got["e"].Shape, []int{0, 5}) {
		t.Fatalf("%v %v", got, err)
	}
}

func TestConvert(t *testing.T) {
	m := readManifest(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "dla46_c.safetensors")
	in := filepath.Join(fixtures, "dla46_c_legacy_f16.pth")
	f, err := Convert(in, out, ConvertOptions{Arch: "dla46_c", Metadata: map[string]string{"labels": "a,b"}})
	if err != nil {
		t.Fatal(err)
	}
	back, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		MetaArchitecture: "dla46_c", MetaNumClasses: "10", MetaSourceFormat: FormatTorchLegacy,
		MetaChecksum: m.Models["dla46_c"].Checksum, "labels": "a,b", "format": "pt",
	}
	for k, v := range want {
		if back.Metadata[k] != v || f.Metadata[k] != v {
			t.Errorf("metadata %s = %q (returned %q), want %q", k, back.Metadata[k], f.Metadata[k], v)
		}
	}
	if Checksum(back.Tensors) != m.Models["dla46_c"].Checksum {
		t.Error("converted tensors differ")
	}

	if _, err := Convert(in, out, ConvertOptions{Classes: 1000}); err == nil || !strings.Contains(err.Error(), "10 classes") {
		t.Errorf("class mismatch: %v", err)
	}
	specs := specsOf(back.Tensors)
	specs = append(specs, Spec{"extra.weight", []int{1}})
	if _, err := Convert(in, filepath.Join(dir, "never.safetensors"), ConvertOptions{Want: specs}); err == nil {
		t.Error("Convert with a mismatching Want succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "never.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a failed Convert left an output file")
	}
}

func specsOf(ts map[string]*tensor.Tensor) []Spec {
	var s []Spec
	for _, k := range sortedKeys(ts) {
		s = append(s, Spec{k, ts[k].Shape})
	}
	return s
}

func TestBind(t *testing.T) {
	f := load(t, "dla46x_c_zip_f32.pth")
	want := specsOf(f.Tensors)
	got, err := Bind(want, f.Tensors, BindOptions{})
	if err != nil || len(got) != len(want) {
		t.Fatalf("exact bind: %d tensors, %v", len(got), err)
	}

	// Official extras: inner-node projections and counters are dropped; a
	// projection at a leaf (it has a root) is not.
	official := map[string]*tensor.Tensor{}
	for k, v := range f.Tensors {
		official[k] = v
	}
	for _, k := range []string{"level4.project.0.weight", "level4.project.1.weight", "level4.project.1.running_var",
		"level4.project.1.num_batches_tracked", "level2.tree1.bn1.num_batches_tracked"} {
		official[k] = tensor.New(1)
	}
	if _, err := Bind(want, official, BindOptions{}); err != nil {
		t.Fatalf("official extras not dropped: %v", err)
	}
	official["level3.tree1.project.0.weight"] = tensor.New(64, 64, 1, 1) // level3.tree1 is a leaf without project
	_, err = Bind(want, official, BindOptions{})
	var be *BindError
	if !errors.As(err, &be) || len(be.Unexpected) != 1 || !strings.HasPrefix(be.Unexpected[0], "level3.tree1.project.0.weight ") {
		t.Fatalf("leaf projection not reported: %v", err)
	}

	// Missing, unexpected and mis-shaped, all reported by name in one error.
	bad := map[string]*tensor.Tensor{}
	for k, v := range f.Tensors {
		bad[k] = v
	}
	delete(bad, "level5.root.bn.running_var")
	delete(bad, "base_layer.0.weight")
	bad["head.weight"] = tensor.New(3)
	bad["fc.weight"] = tensor.New(1000, 256, 1, 1)
	_, err = Bind(want, bad, BindOptions{})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	first := strings.SplitN(msg, "\n", 2)[0]
	if first != "weights do not match the model: 2 missing, 1 unexpected, 1 mis-shaped" {
		t.Errorf("summary line %q", first)
	}
	for _, s := range []string{"base_layer.0.weight [16 3 7 7]", "level5.root.bn.running_var [256]",
		"head.weight [3]", "fc.weight: file [1000 256 1 1], model [10 256 1 1]"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error lacks %q:\n%s", s, msg)
		}
	}
	if !errors.As(err, &be) || !sort.StringsAreSorted(be.Missing) || be.Missing[0] != "base_layer.0.weight [16 3 7 7]" {
		t.Errorf("missing list %v", be.Missing)
	}

	// AllowMissing: a new head of another size is left to the caller.
	delete(bad, "head.weight")
	bad["level5.root.bn.running_var"] = f.Tensors["level5.root.bn.running_var"]
	bad["base_layer.0.weight"] = f.Tensors["base_layer.0.weight"]
	got, err = Bind(want, bad, BindOptions{AllowMissing: []string{"fc.*"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["fc.weight"]; ok || got["fc.bias"] == nil || len(got) != len(want)-1 {
		t.Errorf("AllowMissing: fc.weight bound=%v, %d tensors", ok, len(got))
	}
	if _, err := Bind(want, bad, BindOptions{AllowMissing: []string{"fc.["}}); err == nil {
		t.Error("bad pattern accepted")
	}
}

func TestCanonicalName(t *testing.T) {
	cases := map[string]string{
		"module.level2.root.bn.running_mean":      "level2.root.bn.running_mean",
		"level2.root.bn._mean":                    "level2.root.bn.running_mean",
		"level2.root.bn._variance":                "level2.root.bn.running_var",
		"fc.weight":                               "fc.weight",
		"module.base_layer.1.num_batches_tracked": "",
	}
	for in, want := range cases {
		got, keep := CanonicalName(in)
		if keep != (want != "") || got != want {
			t.Errorf("CanonicalName(%q) = %q, %v", in, got, keep)
		}
	}
}

func TestChecksumDefinition(t *testing.T) {
	a := map[string]*tensor.Tensor{"b": {Shape: []int{2}, Data: []float32{1, 2}}, "a": {Shape: []int{}, Data: []float32{float32(math.Inf(-1))}}}
	b := map[string]*tensor.Tensor{"a": a["a"], "b": {Shape: []int{2, 1}, Data: []float32{1, 2}}}
	if Checksum(a) == Checksum(b) {
		t.Error("shape is not part of the checksum")
	}
	if Checksum(a) != Checksum(map[string]*tensor.Tensor{"a": a["a"], "b": a["b"]}) || len(Checksum(a)) != 64 {
		t.Error("checksum not deterministic")
	}
}

func TestHalfToFloat(t *testing.T) {
	cases := map[uint16]float32{
		0x0000: 0, 0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x0001: 5.960464477539063e-08,
		0x03ff: 6.097555160522461e-05, 0x0400: 6.103515625e-05, 0x7c00: float32(math.Inf(1)), 0xfc00: float32(math.Inf(-1)),
	}
	for h, want := range cases {
		if got := halfToFloat(h); got != want {
			t.Errorf("halfToFloat(%#04x) = %v, want %v", h, got, want)
		}
	}
	if got := halfToFloat(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("NaN decoded as %v", got)
	}
	if got := halfToFloat(0x8000); math.Float32bits(got) != 0x80000000 {
		t.Errorf("-0 decoded as %v", got)
	}
}

func TestDetect(t *testing.T) {
	for _, c := range []struct {
		data string
		err  string
	}{
		{"", "unrecognised"},
		{"GIF89a....", "unrecognised"},
		{"\x80\x01K\x01.", "unrecognised"}, // protocol 1 pickle
		{strings.Repeat("\x00", 257) + "ustar\x0000", "tar-format"},
	} {
		_, err := Read(bytes.NewReader([]byte(c.data)), int64(len(c.data)))
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: %v", c.data, err)
		}
	}
}

// The reference input/logit pairs the model package checks after import.
func TestReferenceNPY(t *testing.T) {
	for _, model := range []string{"dla46x_c", "dla46_c"} {
		x, err := tensor.ReadNPYFile(filepath.Join(fixtures, model+"_input.npy"))
		if err != nil || !tensor.SameShape(x.Shape, []int{1, 3, 64, 64}) {
			t.Fatalf("%s input: %v %v", model, x, err)
		}
		y, err := tensor.ReadNPYFile(filepath.Join(fixtures, model+"_logits.npy"))
		if err != nil || !tensor.SameShape(y.Shape, []int{1, 10}) {
			t.Fatalf("%s logits: %v %v", model, y, err)
		}
	}
}

// floatToHalf inverts halfToFloat on every half, and rounds to nearest even
// in between.
func TestFloatToHalf(t *testing.T) {
	for h := range 1 << 16 {
		f := halfToFloat(uint16(h))
		if f != f { // NaN
			continue
		}
		got, ok := floatToHalf(f)
		if !ok || got != uint16(h) && !(f == 0 && got&0x7fff == 0) {
			t.Fatalf("half %#04x (%g) comes back as %#04x, %v", h, f, got, ok)
		}
	}
	for _, c := range []struct {
		f    float32
		want uint16
		ok   bool
	}{
		{1 + 1.0/2048, 0x3c00, true},        // tie, to even (down)
		{1 + 3.0/2048, 0x3c02, true},        // tie, to even (up)
		{65504, 0x7bff, true},               // largest half
		{65520, 0, false},                   // rounds past it
		{1e-8, 0, true},                     // below half a subnormal
		{float32(math.NaN()), 0, false},     // not a number
		{-2.9802322e-08, 0x8000, true},      // a tie at the smallest subnormal rounds to even (zero)
		{5.9604645e-08 * 1.5, 0x0002, true}, // 1.5 subnormal units: tie to even (2)
	} {
		got, ok := floatToHalf(c.f)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("floatToHalf(%g) = %#04x, %v; want %#04x, %v", c.f, got, ok, c.want, c.ok)
		}
	}
}
