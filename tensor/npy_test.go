package tensor

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// want2x3x5 is what tensor/testdata/gen.py stores: (arange(30) - 7.5) / 4.
func want2x3x5() []float32 {
	v := make([]float32, 30)
	for i := range v {
		v[i] = (float32(i) - 7.5) / 4
	}
	return v
}

func TestReadNPYNumpyFiles(t *testing.T) {
	for _, name := range []string{"f32_2x3x5.npy", "f32_v2.npy", "f32_v3.npy"} {
		got, err := ReadNPYFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !SameShape(got.Shape, []int{2, 3, 5}) {
			t.Fatalf("%s: shape %v", name, got.Shape)
		}
		for i, w := range want2x3x5() {
			if got.Data[i] != w {
				t.Fatalf("%s: [%d] = %v, want %v", name, i, got.Data[i], w)
			}
		}
	}
	cases := []struct {
		name  string
		shape []int
		data  []float32
	}{
		{"f32_scalar.npy", []int{}, []float32{2.5}},
		{"f32_empty.npy", []int{0, 4}, []float32{}},
		{"f32_vec.npy", []int{3}, []float32{1, float32(math.Copysign(0, -1)), float32(math.Inf(1))}},
	}
	for _, c := range cases {
		got, err := ReadNPYFile(filepath.Join("testdata", c.name))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !SameShape(got.Shape, c.shape) || len(got.Data) != len(c.data) {
			t.Fatalf("%s: shape %v (%d values), want %v", c.name, got.Shape, len(got.Data), c.shape)
		}
		for i := range c.data {
			if math.Float32bits(got.Data[i]) != math.Float32bits(c.data[i]) {
				t.Fatalf("%s: [%d] = %v, want %v", c.name, i, got.Data[i], c.data[i])
			}
		}
	}
}

func TestReadNPYRefusals(t *testing.T) {
	cases := map[string][]string{
		"f64.npy":            {"'<f8'", "float64", "float32"},
		"i64.npy":            {"'<i8'", "int64"},
		"f32_big_endian.npy": {"'>f4'", "big-endian float32"},
		"f32_fortran.npy":    {"Fortran"},
	}
	for name, wants := range cases {
		_, err := ReadNPYFile(filepath.Join("testdata", name))
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", name, err, w)
			}
		}
	}
}

func TestNPYRoundTrip(t *testing.T) {
	shapes := [][]int{{}, {0}, {7}, {1, 3, 5, 7}, {2, 0, 3}}
	for _, s := range shapes {
		x := New(s...)
		for i := range x.Data {
			x.Data[i] = float32(i)*0.37 - 3
		}
		var buf bytes.Buffer
		if err := WriteNPY(&buf, x); err != nil {
			t.Fatal(err)
		}
		hdr := buf.Bytes()
		if (len(hdr)-len(x.Data)*4)%64 != 0 {
			t.Errorf("shape %v: data does not start on a 64-byte boundary", s)
		}
		y, err := ReadNPY(&buf)
		if err != nil {
			t.Fatalf("shape %v: %v", s, err)
		}
		if !SameShape(x.Shape, y.Shape) {
			t.Fatalf("shape %v read back as %v", x.Shape, y.Shape)
		}
		for i := range x.Data {
			if x.Data[i] != y.Data[i] {
				t.Fatalf("shape %v: value %d differs", s, i)
			}
		}
	}
	// The writer matches NumPy's own bytes exactly.
	want, err := os.ReadFile(filepath.Join("testdata", "f32_2x3x5.npy"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	x, _ := FromData(want2x3x5(), 2, 3, 5)
	if err := WriteNPY(&buf, x); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("WriteNPY bytes differ from numpy.save:\n%q\n%q", buf.Bytes()[:128], want[:128])
	}
}

func TestWriteNPYFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.npy")
	x, _ := FromData([]float32{1, 2, 3}, 3)
	if err := WriteNPYFile(path, x); err != nil {
		t.Fatal(err)
	}
	if err := WriteNPYFile(path, x); err != nil { // overwrite
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temporary files left behind: %v", ents)
	}
	y, err := ReadNPYFile(path)
	if err != nil || len(y.Data) != 3 || y.Data[2] != 3 {
		t.Fatalf("read back: %v %v", y, err)
	}
	if err := WriteNPYFile(filepath.Join(dir, "missing", "x.npy"), x); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
	bad := &Tensor{Shape: []int{2, 2}, Data: []float32{1}}
	if err := WriteNPYFile(path, bad); err == nil {
		t.Fatal("inconsistent tensor written")
	}
	if y, err := ReadNPYFile(path); err != nil || len(y.Data) != 3 {
		t.Fatal("a failed write damaged the existing file")
	}
}

func TestReadNPYHostile(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "f32_2x3x5.npy"))
	if err != nil {
		t.Fatal(err)
	}
	// Every truncation fails cleanly.
	for n := 0; n < len(good); n++ {
		if _, err := ReadNPY(bytes.NewReader(good[:n])); err == nil {
			t.Fatalf("truncated at %d: no error", n)
		}
	}
	hdr := func(dict string) []byte {
		b := []byte(npyMagic + "\x01\x00")
		b = append(b, byte(len(dict)), byte(len(dict)>>8))
		return append(b, dict...)
	}
	bad := map[string][]byte{
		"huge shape":     hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000, 1000), }\n"),
		"claimed 1<<30":  hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824,), }\n"),
		"negative":       hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }\n"),
		"missing key":    hdr("{'descr': '<f4', 'shape': (1,), }\n"),
		"repeated key":   hdr("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n"),
		"not a dict":     hdr("[1, 2]\n"),
		"unknown key":    hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}\n"),
		"bad bool":       hdr("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }\n"),
		"unterminated":   hdr("{'descr': '<f4\n"),
		"long dimension": hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }\n"),
		"version 9":      append([]byte(npyMagic+"\x09\x00"), 0, 0),
		"header cap":     []byte(npyMagic + "\x02\x00\xff\xff\xff\x7f"),
		"bad magic":      []byte("PK\x03\x04 not numpy"),
	}
	for name, b := range bad {
		if _, err := ReadNPY(bytes.NewReader(b)); err == nil {
			t.Errorf("%s: no error", name)
		} else if name == "claimed 1<<30" && !strings.Contains(err.Error(), "truncated") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzReadNPY(f *testing.F) {
	for _, name := range []string{"f32_2x3x5.npy", "f32_v3.npy", "f32_scalar.npy", "f64.npy"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := ReadNPY(bytes.NewReader(b))
		if err != nil {
			return
		}
		n, err := CheckShape(x.Shape)
		if err != nil || n != len(x.Data) || n*4 > len(b) {
			t.Fatalf("accepted an inconsistent tensor: shape %v, %d values, %d input bytes", x.Shape, len(x.Data), len(b))
		}
	})
}
