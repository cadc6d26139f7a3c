package safetensorsrules

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// file puts the length prefix before header and appends data zero bytes.
func file(header string, data int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, data)...)
}

// The example file of the reference's documentation (SafeTensors::deserialize).
func TestReferenceExample(t *testing.T) {
	h, err := Check(file(`{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}`, 16))
	if err != nil || h.Length != 60 || len(h.Tensors) != 1 || h.Tensors[0].End != 16 {
		t.Fatalf("%+v %v", h, err)
	}
}

// The fixtures made by testdata/weights/st_save_file.py have the serializer's layout.
func TestFixturesHaveTheSerializersLayout(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "weights", "*state_dict*.safetensors"))
	if len(paths) < 3 {
		t.Fatalf("fixtures: %v", paths)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		h, err := CheckLayout(b)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if h.HasMetadata || h.Tensors[0].Dtype != "I64" {
			t.Errorf("%s: metadata %v, first tensor %+v", p, h.HasMetadata, h.Tensors[0])
		}
	}
}

func TestViolationsAreCaught(t *testing.T) {
	entry := func(name, dtype, shape string, b, e int) string {
		return `"` + name + `":{"dtype":"` + dtype + `","shape":` + shape + `,"data_offsets":[` + strconv.Itoa(b) + `,` + strconv.Itoa(e) + `]}`
	}
	f32 := func(name string, n, b int) string { return entry(name, "F32", "["+strconv.Itoa(n)+"]", b, b+4*n) }
	huge := binary.LittleEndian.AppendUint64(nil, maxHeader+1)
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "shorter"},
		{"header too long", append(huge, "{}"...), "above"},
		{"header past end", file("{}", 0)[:9], "past the end"},
		{"not UTF-8", file("{\"\xff\":1}", 0), "UTF-8"},
		{"not an object", file("[]", 0), "not a JSON object"},
		{"metadata not strings", file(`{"__metadata__":{"a":1}}`, 0), "string-to-string"},
		{"unknown dtype", file(`{`+entry("a", "F128", "[1]", 0, 16)+`}`, 16), "unknown dtype"},
		{"missing field", file(`{"a":{"dtype":"F32","shape":[1]}}`, 4), "required"},
		{"negative dim", file(`{`+entry("a", "F32", "[-1]", 0, 4)+`}`, 4), "non-negative"},
		{"three offsets", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4]}}`, 4), "two"},
		{"gap", file(`{`+f32("a", 1, 4)+`}`, 8), "expected"},
		{"overlap", file(`{`+f32("a", 2, 0)+`,`+f32("b", 2, 4)+`}`, 12), "expected"},
		{"span", file(`{`+entry("a", "F32", "[3]", 0, 16)+`}`, 16), "12 bytes"},
		{"misaligned F4", file(`{`+entry("a", "F4", "[3]", 0, 2)+`}`, 2), "whole number"},
		{"misaligned F6", file(`{`+entry("a", "F6_E3M2", "[2]", 0, 2)+`}`, 2), "whole number"},
		{"overflow", file(`{`+entry("a", "U64", "[4294967296,4294967296]", 0, 8)+`}`, 8), "overflows"},
		{"tail", file(`{`+f32("a", 1, 0)+`}`, 8), "cover 4"},
		{"trailing", file(`{`+f32("a", 1, 0)+`}{}`, 4), "after the header"},
		{"duplicate", file(`{`+f32("a", 1, 0)+`,`+f32("a", 1, 4)+`}`, 8), "twice"},
	}
	for _, c := range cases {
		if _, err := Check(c.file); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", c.name, err, c.want)
		}
	}

	// Loadable by the reference, but not as its serializer writes files.
	pad := func(h string) string { return h + strings.Repeat(" ", (8-len(h)%8)%8) }
	layout := []struct {
		name, header string
		data         int
		want         string
	}{
		{"unpadded", `{` + f32("a", 1, 0) + `}`, 4, "multiple of 8"},
		{"newline padding", `{` + f32("a", 1, 0) + "}\n\n", 4, "other than spaces"}, // 56 bytes
		{"metadata last", pad(`{` + f32("a", 1, 0) + `,"__metadata__":{"k":"v"}}`), 4, "first key"},
		{"listed out of data order", pad(`{` + f32("b", 1, 4) + `,` + f32("a", 1, 0) + `}`), 8, "does not follow"},
		{"names out of order", pad(`{` + f32("b", 1, 0) + `,` + f32("a", 1, 4) + `}`), 8, "not sorted"},
		{"I64 after F32", pad(`{` + f32("a", 1, 0) + `,` + entry("b", "I64", "[]", 4, 12) + `}`), 12, "not sorted"},
	}
	for _, c := range layout {
		f := file(c.header, c.data)
		if _, err := Check(f); err != nil {
			t.Errorf("%s: Check: %v", c.name, err)
		}
		if _, err := CheckLayout(f); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", c.name, err, c.want)
		}
	}
	ok := file(pad(`{"__metadata__":{"k":"v"},`+entry("b", "I64", "[]", 0, 8)+`,`+f32("a", 1, 8)+`,`+entry("e", "F32", "[0]", 12, 12)+`}`), 12)
	if _, err := CheckLayout(ok); err != nil {
		t.Errorf("serializer layout refused: %v", err)
	}
}
