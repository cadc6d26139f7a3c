package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func readFixture(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readBytes(b []byte) (*File, error) { return Read(bytes.NewReader(b), int64(len(b))) }

// checkLoaded verifies what a reader accepted: consistent tensors whose total
// size is bounded by the input (views may share storage, at most twice over).
func checkLoaded(t *testing.T, f *File, inputLen int) {
	total := 0
	for name, x := range f.Tensors {
		n, err := checkShape(x.Shape)
		if err != nil || n != len(x.Data) {
			t.Fatalf("tensor %q: shape %v with %d values", name, x.Shape, len(x.Data))
		}
		total += n
	}
	if total > 2*inputLen+1<<16 {
		t.Fatalf("%d elements decoded from %d bytes", total, inputLen)
	}
}

var tinyFiles = []string{"tiny.safetensors", "tiny_zip.pth", "tiny_legacy.pth", "tiny_paddle2.pdparams", "tiny_paddle4.pdparams",
	"tiny_state_dict_f64.safetensors", "tiny_state_dict_bf16.safetensors"}

// Every truncation of every tiny file is an error; every single-byte
// corruption is an error or a consistent result, never a panic.
func TestTruncatedAndCorrupted(t *testing.T) {
	for _, name := range tinyFiles {
		good := readFixture(t, name)
		if _, err := readBytes(good); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for n := 0; n < len(good); n++ {
			if _, err := readBytes(good[:n]); err == nil {
				t.Fatalf("%s truncated to %d bytes: no error", name, n)
			}
		}
		for i := range good {
			for _, x := range []byte{0xff, 0x01, 0x80} {
				b := bytes.Clone(good)
				b[i] ^= x
				if f, err := readBytes(b); err == nil {
					checkLoaded(t, f, len(b))
				}
			}
		}
	}
}

// The full-size fixtures, cut and corrupted at spread-out points.
func TestTruncatedLargeFiles(t *testing.T) {
	points := 24
	if testing.Short() {
		points = 6
	}
	for _, name := range []string{"dla46x_c_zip_f32.pth", "dla46x_c_official_bf16.pth", "dla46x_c_paddle.pdparams", "dla46_c_legacy_f16.pth",
		"dla46_c_state_dict_f16.safetensors"} {
		good := readFixture(t, name)
		for k := 0; k < points; k++ {
			n := int(int64(len(good)) * int64(k) / int64(points))
			n += k * 7919 % 64 // avoid only hitting aligned offsets
			if _, err := readBytes(good[:n]); err == nil {
				t.Fatalf("%s truncated to %d bytes: no error", name, n)
			}
			b := bytes.Clone(good)
			b[n] ^= 0x5a
			if f, err := readBytes(b); err == nil {
				checkLoaded(t, f, len(b))
			}
		}
	}
}

// allocDuring returns the bytes allocated while fn runs.
func allocDuring(fn func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	fn()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func TestHostilePickles(t *testing.T) {
	u64 := func(v uint64) string {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		return string(b[:])
	}
	cases := []struct{ name, data, want string }{
		{"opcode 0xff", "\x80\x02\xff.", "0xff"},
		{"empty LONG1", "\x80\x02\x8a\x00.", "integer of 0 bytes"},
		{"huge LONG4", "\x80\x02\x8b\x00\x00\x10\x00" + strings.Repeat("\x01", 1<<20) + ".", "integer of 1048576 bytes"},
		{"odd DICT", "\x80\x02(K\x01d.", "odd number"},
		{"odd SETITEMS", "\x80\x02}(K\x01u.", "odd number"},
		{"BINBYTES past end", "\x80\x03B\xff\xff\xff\xff.", "runs past the end"},
		{"BINUNICODE8 past end", "\x80\x04\x8d" + u64(1<<62) + ".", "runs past the end"},
		{"BINBYTES8 past end", "\x80\x04\x8e" + u64(1<<40) + ".", "runs past the end"},
		{"FRAME past end", "\x80\x04\x95" + u64(1<<50) + "}.", "frame of"},
		{"deep MARKs", "\x80\x02" + strings.Repeat("(", 1000), "nested deeper"},
		{"GLOBAL os.system", "\x80\x02cos\nsystem\n.", "os.system is not allowed"},
		{"GLOBAL builtins.eval", "\x80\x02c__builtin__\neval\n.", "__builtin__.eval is not allowed"},
		{"object bypass", "\x80\x02c__builtin__\nobject\n.", "__builtin__.object is not allowed"},
		{"STACK_GLOBAL", "\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93.", "os.system is not allowed"},
		{"STACK_GLOBAL memo", "\x80\x04\x8c\x02os\x94\x8c\x06system\x94h\x00h\x01\x93.", "os.system is not allowed"},
		{"STACK_GLOBAL non-string", "\x80\x04K\x01K\x02\x93.", "literal strings"},
		{"memo miss", "\x80\x02h\x05.", "never stored"},
		{"unbalanced STOP", "\x80\x02N0.", "unbalanced"},
		{"POP past MARK", "\x80\x02N(0.", "stack underflow"},
		{"text opcode", "\x80\x02I1\n.", "INT"},
		{"INST", "\x80\x02(ios\nsystem\n.", "INST"},
		{"set", "\x80\x04\x8f.", "EMPTY_SET"},
		{"protocol 9", "\x80\x02\x80\x09N.", "protocol 9 is not supported"},
		{"bytes key", "\x80\x02ccollections\nOrderedDict\n)RC\x01aK\x01s.", "malformed"},
		{"self-referencing list", "\x80\x02]q\x00h\x00a.", "not a state dict"},
		{"no STOP", "\x80\x02}", "truncated"},
		{"trailing bytes", "\x80\x02}.junk", "unexpected bytes"},
		{"string value", "\x80\x02}X\x01\x00\x00\x00aK\x01s.", "no tensors found"},
	}
	for _, c := range cases {
		var err error
		alloc := allocDuring(func() { _, err = readBytes([]byte(c.data)) })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", c.name, err, c.want)
		}
		if alloc > 8<<20+uint64(4*len(c.data)) {
			t.Errorf("%s: %d bytes allocated for a %d-byte input", c.name, alloc, len(c.data))
		}
	}
}

// torchPickle writes a data.pkl holding {'w': tensor, ...} with one storage.
type viewSpec struct {
	name          string
	offset        int
	shape, stride []int
}

func torchPickle(storage string, numel int, views []viewSpec) []byte {
	var b bytes.Buffer
	ints := func(v []int) {
		b.WriteString("(")
		for _, x := range v {
			b.WriteString("J")
			binary.Write(&b, binary.LittleEndian, int32(x))
		}
		b.WriteString("t")
	}
	str := func(s string) {
		b.WriteString("X")
		binary.Write(&b, binary.LittleEndian, uint32(len(s)))
		b.WriteString(s)
	}
	b.WriteString("\x80\x02}(")
	for i, v := range views {
		str(v.name)
		b.WriteString("ctorch._utils\n_rebuild_tensor_v2\n(")
		if i == 0 {
			b.WriteString("(")
			str("storage")
			b.WriteString("ctorch\n" + storage + "\n")
			str("0")
			str("cpu")
			b.WriteString("J")
			binary.Write(&b, binary.LittleEndian, int32(numel))
			b.WriteString("tQq\x00")
		} else {
			b.WriteString("h\x00")
		}
		b.WriteString("J")
		binary.Write(&b, binary.LittleEndian, int32(v.offset))
		ints(v.shape)
		ints(v.stride)
		b.WriteString("\x89ccollections\nOrderedDict\n)RtR")
	}
	b.WriteString("u.")
	return b.Bytes()
}

func torchZip(t testing.TB, pkl []byte, record []byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range map[string][]byte{"archive/data.pkl": pkl, "archive/data/0": record} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func floats(v ...float32) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, v)
	return b.Bytes()
}

func TestHostileTorchZip(t *testing.T) {
	four := floats(1, 2, 3, 4)
	v := func(off int, shape, stride []int) []viewSpec { return []viewSpec{{"w", off, shape, stride}} }
	// Sanity: the hand-made archive loads, transposed views included.
	f, err := readBytes(torchZip(t, torchPickle("FloatStorage", 4, v(0, []int{2, 2}, []int{1, 2})), four))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(f.Tensors["w"].Data); got != "[1 3 2 4]" {
		t.Fatalf("transposed view decoded as %s", got)
	}
	// Float64 storages convert, strided views included.
	third := math.Float64bits(1.0 / 3)
	doubles := binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, third), math.Float64bits(-2.5))
	f, err = readBytes(torchZip(t, torchPickle("DoubleStorage", 2, v(0, []int{2, 2}, []int{0, 1})), doubles))
	if err != nil || fmt.Sprint(f.Tensors["w"].Data) != fmt.Sprint([]float32{1.0 / 3, -2.5, 1.0 / 3, -2.5}) {
		t.Fatalf("float64 storage: %v %v", f, err)
	}
	f, err = readBytes(torchZip(t, torchPickle("FloatStorage", 4, v(3, []int{2, 1}, []int{0, 7})), four))
	if err != nil || fmt.Sprint(f.Tensors["w"].Data) != "[4 4]" {
		t.Fatalf("broadcast view: %v %v", f, err)
	}
	// An empty view may name any offset (found by fuzzing: it sliced past the storage).
	f, err = readBytes(torchZip(t, torchPickle("FloatStorage", 4, v(1<<28, []int{0, 3}, []int{3, 1})), four))
	if err != nil || len(f.Tensors["w"].Data) != 0 {
		t.Fatalf("empty view at a far offset: %v %v", f, err)
	}

	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"claimed huge storage", torchZip(t, torchPickle("FloatStorage", 1<<30, v(0, []int{2}, []int{1})), four), "does not fit in the file"},
		{"record size mismatch", torchZip(t, torchPickle("FloatStorage", 3, v(0, []int{2}, []int{1})), four), "needs 12"},
		{"view past storage", torchZip(t, torchPickle("FloatStorage", 4, v(0, []int{3, 3}, []int{3, 1})), four), "runs past its storage"},
		{"offset past storage", torchZip(t, torchPickle("FloatStorage", 4, v(4, []int{1}, []int{1})), four), "outside its storage"},
		{"huge stride", torchZip(t, torchPickle("FloatStorage", 4, v(0, []int{2, 2}, []int{1 << 30, 1})), four), "runs past its storage"},
		{"huge shape", torchZip(t, torchPickle("FloatStorage", 4, v(0, []int{1 << 30, 1 << 30, 4}, []int{0, 0, 1})), four), "more than"},
		{"rank mismatch", torchZip(t, torchPickle("FloatStorage", 4, v(0, []int{2, 2}, []int{1})), four), "differ in rank"},
		{"integer weights", torchZip(t, torchPickle("LongStorage", 2, v(0, []int{2}, []int{1})), four), `"w" has dtype int64: an integer tensor cannot be a float parameter`},
		{"complex weights", torchZip(t, torchPickle("ComplexFloatStorage", 2, v(0, []int{2}, []int{1})), four), `"w" has dtype complex64; only float64`},
		{"unknown storage", torchZip(t, torchPickle("EvilStorage", 4, v(0, []int{2}, []int{1})), four), "torch.EvilStorage is not allowed"},
		{"no data.pkl", torchZip(t, nil, four)[0:0], "unrecognised"},
	}
	// Many views of one big storage: more elements than the budget allows.
	big := make([]byte, 4*100000)
	var many []viewSpec
	for i := 0; i < 3; i++ {
		many = append(many, viewSpec{fmt.Sprintf("w%d", i), 0, []int{100000}, []int{1}})
	}
	cases = append(cases, struct {
		name string
		file []byte
		want string
	}{"shared-storage amplification", torchZip(t, torchPickle("FloatStorage", 100000, many), big), "shared storage"})

	for _, c := range cases {
		var err error
		alloc := allocDuring(func() { _, err = readBytes(c.file) })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", c.name, err, c.want)
		}
		if alloc > 16<<20 {
			t.Errorf("%s: %d bytes allocated", c.name, alloc)
		}
	}
}

func TestHostileSafetensors(t *testing.T) {
	st := func(header string, data int) []byte {
		b := make([]byte, 8, 8+len(header)+data)
		binary.LittleEndian.PutUint64(b, uint64(len(header)))
		b = append(b, header...)
		return append(b, make([]byte, data)...)
	}
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"header too long", append([]byte{0, 0, 0, 0x10, 0, 0, 0, 0}, '{', '}'), "exceeds the"},
		{"header past end", append([]byte{0, 0, 1, 0, 0, 0, 0, 0}, '{', '}'), "runs past the end"},
		{"huge shape", st(`{"a":{"dtype":"F32","shape":[1073741824,1073741824],"data_offsets":[0,16]}}`, 16), "more than"},
		{"negative dim", st(`{"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}}`, 16), "bad dimension"},
		{"float dim", st(`{"a":{"dtype":"F32","shape":[4.5],"data_offsets":[0,16]}}`, 16), "tensor \"a\""},
		{"offsets past end", st(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 8), "past the"},
		{"size mismatch", st(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}`, 16), "needs 12 bytes"},
		{"overlap", st(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12), "overlaps"},
		{"hole", st(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), "unused bytes"},
		{"uncovered tail", st(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 8), "cover 4"},
		{"duplicate", st(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), "twice"},
		{"header just too long", append([]byte{0x01, 0xe1, 0xf5, 0x05, 0, 0, 0, 0}, '{', '}'), "exceeds the 100000000-byte limit"},
		{"not UTF-8", st("{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "UTF-8"},
		{"unknown dtype", st(`{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}`, 16), `unknown dtype "F128"`},
		{"I64 weight", st(`{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, 8), `"a" has dtype I64: an integer tensor cannot be a float parameter`},
		{"F8 weight", st(`{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, 1), `"a" has dtype F8_E4M3; only float64, float32, float16 and bfloat16`},
		{"misaligned F4", st(`{"a.num_batches_tracked":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, 2), "not a whole number of bytes"},
		{"huge dropped counter", st(`{"a.num_batches_tracked":{"dtype":"I64","shape":[2147483648],"data_offsets":[0,17179869184]}}`, 8), "run past the"},
		{"huge dropped counter, short span", st(`{"a.num_batches_tracked":{"dtype":"U64","shape":[2147483648],"data_offsets":[0,8]}}`, 8), "needs 17179869184 bytes"},
		{"bad metadata", st(`{"__metadata__":{"a":1}}`, 0), "__metadata__"},
		{"missing field", st(`{"a":{"dtype":"F32","shape":[1]}}`, 4), "lacks"},
		{"trailing", st(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}{}`, 4), "trailing"},
		{"empty", st(`{}`, 0), "no tensors"},
	}
	for _, c := range cases {
		var err error
		alloc := allocDuring(func() { _, err = readBytes(c.file) })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", c.name, err, c.want)
		}
		if alloc > 1<<20 {
			t.Errorf("%s: %d bytes allocated", c.name, alloc)
		}
	}
	// Space padding after the JSON is allowed; a zero-length tensor may share an offset.
	ok := st(`{"e":{"dtype":"BF16","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}   `, 4)
	if _, err := readBytes(ok); err != nil {
		t.Fatal(err)
	}
}

func fuzzSeeds(f *testing.F, names ...string) {
	for _, n := range names {
		f.Add(readFixture(f, n))
	}
}

func fuzzRead(t *testing.T, b []byte) {
	if f, err := readBytes(b); err == nil {
		checkLoaded(t, f, len(b))
	}
}

func FuzzSafetensors(f *testing.F) {
	fuzzSeeds(f, "tiny.safetensors", "tiny_state_dict_f64.safetensors", "tiny_state_dict_bf16.safetensors")
	f.Fuzz(func(t *testing.T, b []byte) {
		if raw, _, err := readSafetensorsRaw(bytes.NewReader(b), int64(len(b))); err == nil {
			if ts, err := materialize(raw); err == nil {
				checkLoaded(t, &File{Tensors: ts}, len(b))
			}
		}
		fuzzRead(t, b)
	})
}

func FuzzTorch(f *testing.F) {
	fuzzSeeds(f, "tiny_zip.pth", "tiny_legacy.pth", "tiny_state_dict_f64.pth")
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, read := range []func(r *bytes.Reader, n int64) (map[string]*rawTensor, error){
			func(r *bytes.Reader, n int64) (map[string]*rawTensor, error) { return readTorchZip(r, n) },
			func(r *bytes.Reader, n int64) (map[string]*rawTensor, error) { return readTorchLegacy(r, n) },
		} {
			if raw, err := read(bytes.NewReader(b), int64(len(b))); err == nil {
				if ts, err := materialize(raw); err == nil {
					checkLoaded(t, &File{Tensors: ts}, len(b))
				}
			}
		}
		fuzzRead(t, b)
	})
}

func FuzzPaddle(f *testing.F) {
	fuzzSeeds(f, "tiny_paddle2.pdparams", "tiny_paddle4.pdparams", "evil.pdparams", "tiny_state_dict_f64.pdparams")
	f.Fuzz(func(t *testing.T, b []byte) {
		if raw, err := readPaddle(bytes.NewReader(b), int64(len(b))); err == nil {
			if ts, err := materialize(raw); err == nil {
				checkLoaded(t, &File{Tensors: ts}, len(b))
			}
		}
		fuzzRead(t, b)
	})
}

// FuzzTorchPickle fuzzes data.pkl itself: wrapped into a valid archive, its
// mutations get past the zip CRC that stops most of FuzzTorch's.
func FuzzTorchPickle(f *testing.F) {
	four := floats(1, 2, 3, 4)
	f.Add(torchPickle("FloatStorage", 4, []viewSpec{{"module.w", 0, []int{2, 2}, []int{1, 2}}}))
	f.Add(torchPickle("HalfStorage", 8, []viewSpec{{"a", 0, []int{2, 2}, []int{2, 1}}, {"b", 2, []int{3}, []int{2}}}))
	f.Fuzz(func(t *testing.T, pkl []byte) {
		fuzzRead(t, torchZip(t, pkl, four))
	})
}

func TestPickleOpcodeCap(t *testing.T) {
	// Within the cap: a list of many Nones loads (and is refused as a non-dict).
	ok := "\x80\x02](" + strings.Repeat("N", maxPickleOps-10) + "e."
	var err error
	alloc := allocDuring(func() { _, err = readBytes([]byte(ok)) })
	if err == nil || !strings.Contains(err.Error(), "not a state dict") {
		t.Fatalf("error %v", err)
	}
	if alloc > 64<<20 { // cumulative: slices grow by 1.25x, so ~5x the live size
		t.Errorf("%d bytes allocated for %d opcodes", alloc, maxPickleOps)
	}
	over := "\x80\x02](" + strings.Repeat("N", maxPickleOps) + "e."
	if _, err := readBytes([]byte(over)); err == nil || !strings.Contains(err.Error(), "opcodes") {
		t.Fatalf("error %v", err)
	}
}
