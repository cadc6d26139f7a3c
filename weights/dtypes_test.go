package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/dla-go/dla/internal/safetensorsrules"
	"github.com/dla-go/dla/tensor"
)

// stTensor is one tensor of a hand-made safetensors file.
type stTensor struct {
	name, dtype string
	shape       []int
	data        []byte
}

// stFile lays the tensors out in the order given, each right after the last.
func stFile(ts ...stTensor) []byte {
	var hdr strings.Builder
	var data []byte
	hdr.WriteString("{")
	for i, t := range ts {
		shape, _ := json.Marshal(append([]int{}, t.shape...))
		if i > 0 {
			hdr.WriteString(",")
		}
		fmt.Fprintf(&hdr, `%q:{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, t.name, t.dtype, shape, len(data), len(data)+len(t.data))
		data = append(data, t.data...)
	}
	hdr.WriteString("}")
	b := binary.LittleEndian.AppendUint64(nil, uint64(hdr.Len()))
	return append(append(b, hdr.String()...), data...)
}

// The dtypes a kept tensor may have (decoded to float32) and those that are
// integers; every other dtype of the format is refused by name when decoded.
var (
	floatDtypes   = []string{"F16", "BF16", "F32", "F64"}
	integerDtypes = []string{"BOOL", "U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64"}
)

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Every dtype the reference defines parses: in a dropped counter it is
// skipped, in a kept tensor it is decoded or refused by name, and its span is
// checked against its size in bits.
func TestSafetensorsEveryDtype(t *testing.T) {
	refused := 0
	for _, d := range safetensorsrules.Dtypes() {
		data := make([]byte, d.Bits) // 8 elements: a whole number of bytes for every dtype
		dropped := stFile(stTensor{"bn.num_batches_tracked", d.Name, []int{8}, data},
			stTensor{"bn.weight", "F32", []int{1}, floats(2)})
		if _, err := safetensorsrules.Check(dropped); err != nil {
			t.Fatalf("%s: the test file breaks the reference's rules: %v", d.Name, err)
		}
		f, err := readBytes(dropped)
		if err != nil || len(f.Tensors) != 1 || f.Tensors["bn.weight"].Data[0] != 2 {
			t.Errorf("%s counter: %v", d.Name, err)
		}

		_, err = readBytes(stFile(stTensor{"w", d.Name, []int{2, 4}, data}))
		switch {
		case contains(floatDtypes, d.Name):
			if err != nil {
				t.Errorf("%s weight: %v", d.Name, err)
			}
		case contains(integerDtypes, d.Name):
			if want := fmt.Sprintf(`tensor "w" has dtype %s: an integer tensor cannot be a float parameter`, d.Name); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s weight: error %v, want %q", d.Name, err, want)
			}
		default:
			refused++
			if want := fmt.Sprintf(`tensor "w" has dtype %s; only float64, float32, float16 and bfloat16`, d.Name); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s weight: error %v, want %q", d.Name, err, want)
			}
		}

		short := stFile(stTensor{"bn.num_batches_tracked", d.Name, []int{8}, data[:len(data)-1]})
		if _, err := readBytes(short); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("needs %d bytes", len(data))) {
			t.Errorf("%s one byte short: %v", d.Name, err)
		}
	}
	if refused != 9 { // F4, F6_E2M3, F6_E3M2, five F8 and C64
		t.Errorf("%d dtypes refused as weights, want 9", refused)
	}
	for _, bad := range []string{"F128", "f32", "float32", "I4"} {
		_, err := readBytes(stFile(stTensor{"bn.num_batches_tracked", bad, []int{}, make([]byte, 8)}))
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("unknown dtype %q", bad)) {
			t.Errorf("dtype %q: %v", bad, err)
		}
	}
}

// Sub-byte dtypes: as in the reference, a tensor whose bits do not make whole
// bytes is refused, whether or not it would be dropped.
func TestSafetensorsSubByte(t *testing.T) {
	for _, c := range []struct {
		dtype string
		shape []int
		bytes int
		ok    bool
	}{
		{"F4", []int{2, 3}, 3, true},
		{"F6_E3M2", []int{4}, 3, true},
		{"F4", []int{3}, 2, false},
		{"F6_E2M3", []int{2}, 2, false},
		{"F6_E3M2", []int{1, 1}, 1, false},
	} {
		b := stFile(stTensor{"bn.num_batches_tracked", c.dtype, c.shape, make([]byte, c.bytes)},
			stTensor{"bn.weight", "F32", []int{1}, floats(2)})
		_, err := readBytes(b)
		_, ref := safetensorsrules.Check(b)
		if (err == nil) != c.ok || (ref == nil) != c.ok {
			t.Errorf("%s %v: error %v (reference rules: %v), want ok=%v", c.dtype, c.shape, err, ref, c.ok)
		}
		if !c.ok && !strings.Contains(err.Error(), "not a whole number of bytes") {
			t.Errorf("%s %v: %v", c.dtype, c.shape, err)
		}
	}
}

// spyReader records the byte ranges read from it.
type spyReader struct {
	b     []byte
	reads [][2]int64
}

func (s *spyReader) ReadAt(p []byte, off int64) (int, error) {
	s.reads = append(s.reads, [2]int64{off, off + int64(len(p))})
	return bytesReaderAt(s.b).ReadAt(p, off)
}

// The counters of a PyTorch state dict are skipped without being read.
func TestDroppedTensorsAreNotRead(t *testing.T) {
	for _, name := range []string{"tiny_state_dict_f64.safetensors", "dla46_c_state_dict_f16.safetensors"} {
		b := readFixture(t, name)
		h, err := safetensorsrules.Check(b)
		if err != nil {
			t.Fatal(err)
		}
		spy := &spyReader{b: b}
		f, err := Read(spy, int64(len(b)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Three reads for the format, the header length and the header, then
		// one per kept tensor.
		counters := 0
		base := 8 + int64(h.Length)
		for _, ti := range h.Tensors {
			if !strings.HasSuffix(ti.Name, ".num_batches_tracked") {
				continue
			}
			counters++
			if ti.Dtype != "I64" {
				t.Errorf("%s: %s is %s", name, ti.Name, ti.Dtype)
			}
			for _, r := range spy.reads {
				if r[0] < base+int64(ti.End) && base+int64(ti.Begin) < r[1] {
					t.Errorf("%s: %s was read (bytes %d-%d)", name, ti.Name, r[0], r[1])
				}
			}
		}
		if counters == 0 || len(f.Tensors) != len(h.Tensors)-counters || len(spy.reads) != 3+len(f.Tensors) {
			t.Errorf("%s: %d counters, %d of %d tensors kept, %d reads", name, counters, len(f.Tensors), len(h.Tensors), len(spy.reads))
		}
	}
}

// A DLA46_c saved with safetensors.torch.save_file(model.half().state_dict())
// loads to exactly the weights of the other dla46_c files.
func TestPyTorchStateDictSafetensors(t *testing.T) {
	m := readManifest(t)
	f := load(t, "dla46_c_state_dict_f16.safetensors")
	want := m.Models["dla46_c"]
	if f.Format != FormatSafetensors || len(f.Tensors) != want.Tensors || Checksum(f.Tensors) != want.Checksum {
		t.Errorf("format %s, %d tensors (want %d), checksum %s (want %s)", f.Format, len(f.Tensors), want.Tensors, Checksum(f.Tensors), want.Checksum)
	}
}

// Float64 weights, from safetensors, torch.save and numpy arrays, become the
// float32 values PyTorch's .float() gives; bfloat16 ones are exact. Their
// int64 counters are dropped.
func TestStateDictDtypesMatchPyTorch(t *testing.T) {
	m := readManifest(t)
	for _, c := range []struct{ file, tag string }{
		{"tiny_state_dict_f64.safetensors", "f64"},
		{"tiny_state_dict_f64.pth", "f64"},
		{"tiny_state_dict_f64.pdparams", "f64"},
		{"tiny_state_dict_bf16.safetensors", "bf16"},
	} {
		want := m.TinyStateDict[c.tag]
		f := load(t, c.file)
		if len(want) != 7 || len(f.Tensors) != len(want) {
			t.Errorf("%s: %d tensors, want %d", c.file, len(f.Tensors), len(want))
		}
		for name, w := range want {
			got := f.Tensors[name]
			if got == nil || fmt.Sprint(got.Shape) != fmt.Sprint(w.Shape) {
				t.Errorf("%s: %s missing or mis-shaped", c.file, name)
				continue
			}
			for i, v := range w.Values {
				if math.Float32bits(got.Data[i]) != math.Float32bits(float32(v)) {
					t.Errorf("%s: %s[%d] = %v, PyTorch has %v", c.file, name, i, got.Data[i], v)
					break
				}
			}
		}
	}
}

// F64 values round to the nearest float32, ties to even, as IEEE 754 (and
// PyTorch) convert them.
func TestF64Rounding(t *testing.T) {
	cases := []struct {
		in   float64
		want uint32
	}{
		{1.0 / 3, 0x3eaaaaab},
		{0.1, 0x3dcccccd},
		{1 + 0x1p-24, 0x3f800000},   // halfway: to the even mantissa below
		{1 + 3*0x1p-24, 0x3f800002}, // halfway: to the even mantissa above
		{0x1p-150, 0},               // half the smallest subnormal: to zero
		{3 * 0x1p-150, 2},           // between subnormals 1 and 2: to 2
		{0, 0},
		{math.Copysign(0, -1), 0x80000000},
		{1e300, 0x7f800000},
		{-1e300, 0xff800000},
		{math.MaxFloat32, 0x7f7fffff},
	}
	var data []byte
	for _, c := range cases {
		data = binary.LittleEndian.AppendUint64(data, math.Float64bits(c.in))
	}
	data = binary.LittleEndian.AppendUint64(data, math.Float64bits(math.NaN()))
	f, err := readBytes(stFile(stTensor{"w", "F64", []int{len(cases) + 1}, data}))
	if err != nil {
		t.Fatal(err)
	}
	got := f.Tensors["w"].Data
	for i, c := range cases {
		if math.Float32bits(got[i]) != c.want {
			t.Errorf("%v -> %#08x, want %#08x", c.in, math.Float32bits(got[i]), c.want)
		}
	}
	if !math.IsNaN(float64(got[len(cases)])) {
		t.Errorf("NaN -> %v", got[len(cases)])
	}
}

// What our writer produces loads under the reference's rules and has the
// reference serializer's layout.
func TestWriterFollowsTheReference(t *testing.T) {
	src := load(t, "dla46_c_state_dict_f16.safetensors")
	for _, meta := range []map[string]string{
		{"architecture": "dla46_c", "labels": "a<b & c>d", "note": "ünïcödé"},
		nil,
	} {
		var buf bytes.Buffer
		if err := EncodeSafetensors(&buf, src.Tensors, meta); err != nil {
			t.Fatal(err)
		}
		h, err := safetensorsrules.CheckLayout(buf.Bytes())
		if err != nil {
			t.Fatalf("metadata %v: %v", meta, err)
		}
		if len(h.Tensors) != len(src.Tensors) || h.HasMetadata != (meta != nil) || fmt.Sprint(h.Metadata) != fmt.Sprint(meta) {
			t.Errorf("header: %d tensors, metadata %v", len(h.Tensors), h.Metadata)
		}
		for _, ti := range h.Tensors {
			if ti.Dtype != "F32" {
				t.Errorf("%s written as %s", ti.Name, ti.Dtype)
			}
		}
		if meta != nil && !bytes.Contains(buf.Bytes()[:8+h.Length], []byte(`"a<b & c>d"`)) {
			t.Error("metadata HTML-escaped (serde_json writes it as is)")
		}
	}
	if err := EncodeSafetensors(&bytes.Buffer{}, src.Tensors, map[string]string{"bad": "\xff"}); err == nil {
		t.Error("metadata that is not UTF-8 was written")
	}
	if err := EncodeSafetensors(&bytes.Buffer{}, map[string]*tensor.Tensor{"w\xff": tensor.New(1)}, nil); err == nil {
		t.Error("a tensor name that is not UTF-8 was written")
	}
}
