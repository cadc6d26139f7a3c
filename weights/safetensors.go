package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"unicode/utf8"

	"github.com/dla-go/dla/internal/atomicfile"
	"github.com/dla-go/dla/tensor"
)

// maxSafetensorsHeader caps the JSON header at the reference implementation's
// limit (huggingface/safetensors); a DLA169 header is about 100 KB.
const maxSafetensorsHeader = 100_000_000

// stDtype is one dtype of the safetensors format.
type stDtype struct {
	bits   int // element size; F4 and F6 are narrower than a byte
	kind   dtypeKind
	decode string // our name for decodeFloats, for floatDtype only
}

// safetensorsDtypes holds every dtype the format defines, spelled as in file
// headers; any other string is an error.
var safetensorsDtypes = map[string]stDtype{
	"BOOL":        {8, integerDtype, ""},
	"F4":          {4, unsupportedDtype, ""},
	"F6_E2M3":     {6, unsupportedDtype, ""},
	"F6_E3M2":     {6, unsupportedDtype, ""},
	"U8":          {8, integerDtype, ""},
	"I8":          {8, integerDtype, ""},
	"F8_E5M2":     {8, unsupportedDtype, ""},
	"F8_E4M3":     {8, unsupportedDtype, ""},
	"F8_E8M0":     {8, unsupportedDtype, ""},
	"F8_E4M3FNUZ": {8, unsupportedDtype, ""},
	"F8_E5M2FNUZ": {8, unsupportedDtype, ""},
	"I16":         {16, integerDtype, ""},
	"U16":         {16, integerDtype, ""},
	"F16":         {16, floatDtype, "float16"},
	"BF16":        {16, floatDtype, "bfloat16"},
	"I32":         {32, integerDtype, ""},
	"U32":         {32, integerDtype, ""},
	"F32":         {32, floatDtype, "float32"},
	"C64":         {64, unsupportedDtype, ""},
	"F64":         {64, floatDtype, "float64"},
	"I64":         {64, integerDtype, ""},
	"U64":         {64, integerDtype, ""},
}

type stEntry struct {
	Dtype       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// ReadSafetensors reads a safetensors file of size bytes from r with the names
// as stored (no normalisation). F64, F32, F16 and BF16 tensors are converted
// to float32; a tensor of any other dtype is an error naming it.
func ReadSafetensors(r io.ReaderAt, size int64) (map[string]*tensor.Tensor, map[string]string, error) {
	raw, meta, err := readSafetensorsRaw(r, size)
	if err != nil {
		return nil, nil, err
	}
	ts, err := materialize(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	return ts, meta, nil
}

func readSafetensorsRaw(r io.ReaderAt, size int64) (map[string]*rawTensor, map[string]string, error) {
	var pre [8]byte
	if size < 8 {
		return nil, nil, fmt.Errorf("safetensors: file of %d bytes is shorter than the 8-byte header length", size)
	}
	if _, err := r.ReadAt(pre[:], 0); err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	hlen := binary.LittleEndian.Uint64(pre[:])
	if hlen > maxSafetensorsHeader {
		return nil, nil, fmt.Errorf("safetensors: header length %d exceeds the %d-byte limit", hlen, maxSafetensorsHeader)
	}
	if int64(hlen) > size-8 {
		return nil, nil, fmt.Errorf("safetensors: header length %d runs past the end of the %d-byte file", hlen, size)
	}
	hdr := make([]byte, hlen)
	if _, err := r.ReadAt(hdr, 8); err != nil {
		return nil, nil, fmt.Errorf("safetensors: reading header: %w", err)
	}
	entries, names, meta, err := parseSafetensorsHeader(hdr)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: header: %w", err)
	}
	base := 8 + int64(hlen)
	bufLen := size - base
	type span struct {
		name       string
		begin, end int64
	}
	spans := make([]span, 0, len(names))
	raw := make(map[string]*rawTensor, len(names))
	for _, name := range names {
		e := entries[name]
		dt, ok := safetensorsDtypes[e.Dtype]
		if !ok {
			return nil, nil, fmt.Errorf("safetensors: tensor %q has unknown dtype %q", name, e.Dtype)
		}
		if len(e.Shape) > maxRank {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: rank %d exceeds %d", name, len(e.Shape), maxRank)
		}
		shape := make([]int, len(e.Shape))
		for i, d := range e.Shape {
			if d < 0 || d > tensor.MaxElements {
				return nil, nil, fmt.Errorf("safetensors: tensor %q: bad dimension %d", name, d)
			}
			shape[i] = int(d)
		}
		n, err := checkShape(shape)
		if err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		if len(e.DataOffsets) != 2 {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: data_offsets must hold 2 numbers", name)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		nbits := int64(n) * int64(dt.bits) // n <= tensor.MaxElements: no overflow
		if nbits%8 != 0 {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %s %v is %d bits, not a whole number of bytes", name, e.Dtype, shape, nbits)
		}
		nbytes := nbits / 8
		switch {
		case begin < 0 || end < begin:
			return nil, nil, fmt.Errorf("safetensors: tensor %q: bad data_offsets [%d, %d]", name, begin, end)
		case end > bufLen:
			return nil, nil, fmt.Errorf("safetensors: tensor %q: data_offsets [%d, %d] run past the %d-byte data buffer", name, begin, end, bufLen)
		case end-begin != nbytes:
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %s %v needs %d bytes, data_offsets span %d", name, e.Dtype, shape, nbytes, end-begin)
		}
		spans = append(spans, span{name, begin, end})
		off := base + begin
		raw[name] = &rawTensor{dtype: e.Dtype, kind: dt.kind, shape: shape, numel: n, load: func() ([]float32, error) {
			b := make([]byte, nbytes)
			if _, err := r.ReadAt(b, off); err != nil {
				return nil, err
			}
			return decodeFloats(dt.decode, b, n), nil
		}}
	}
	// The data buffer must be tiled exactly: sorted by offset, each tensor starts
	// where the previous one ended and the last one ends at the end of the file.
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].begin != spans[j].begin {
			return spans[i].begin < spans[j].begin
		}
		return spans[i].end < spans[j].end
	})
	var at int64
	for _, s := range spans {
		if s.begin < at {
			return nil, nil, fmt.Errorf("safetensors: tensor %q overlaps the previous tensor (offset %d < %d)", s.name, s.begin, at)
		}
		if s.begin > at {
			return nil, nil, fmt.Errorf("safetensors: %d unused bytes before tensor %q", s.begin-at, s.name)
		}
		at = s.end
	}
	if at != bufLen {
		return nil, nil, fmt.Errorf("safetensors: data buffer is %d bytes but the tensors cover %d", bufLen, at)
	}
	return raw, meta, nil
}

// parseSafetensorsHeader decodes the JSON header, refusing duplicate names
// (which would otherwise silently shadow each other) and, as the reference
// does, invalid UTF-8 (which encoding/json would silently replace).
func parseSafetensorsHeader(hdr []byte) (map[string]stEntry, []string, map[string]string, error) {
	if !utf8.Valid(hdr) {
		return nil, nil, nil, errors.New("not valid UTF-8")
	}
	hdr = bytes.TrimRight(hdr, " ")
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, nil, errors.New("not a JSON object")
	}
	entries := map[string]stEntry{}
	meta := map[string]string{}
	var names []string
	seenMeta := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, nil, err
		}
		key, ok := t.(string)
		if !ok {
			return nil, nil, nil, errors.New("expected a key")
		}
		if key == "__metadata__" {
			if seenMeta {
				return nil, nil, nil, errors.New("__metadata__ appears twice")
			}
			seenMeta = true
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, nil, fmt.Errorf("__metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		if _, dup := entries[key]; dup {
			return nil, nil, nil, fmt.Errorf("tensor %q appears twice", key)
		}
		var e stEntry
		if err := dec.Decode(&e); err != nil {
			return nil, nil, nil, fmt.Errorf("tensor %q: %w", key, err)
		}
		if e.Dtype == "" || e.Shape == nil || e.DataOffsets == nil {
			return nil, nil, nil, fmt.Errorf("tensor %q lacks dtype, shape or data_offsets", key)
		}
		entries[key] = e
		names = append(names, key)
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, nil, nil, errors.New("unterminated JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, nil, errors.New("trailing data after the JSON object")
	}
	if meta == nil { // "__metadata__": null
		meta = map[string]string{}
	}
	sort.Strings(names)
	return entries, names, meta, nil
}

// EncodeSafetensors writes tensors as F32 safetensors to w, laid out as the
// reference serializer lays them out: the data in name order, the header
// compact JSON with __metadata__ first (omitted when empty) and the tensors in
// data order, padded with spaces so that the data starts on an 8-byte boundary.
func EncodeSafetensors(w io.Writer, tensors map[string]*tensor.Tensor, metadata map[string]string) error {
	return EncodeSafetensorsAs(w, tensors, metadata, "F32")
}

// EncodeSafetensorsAs is EncodeSafetensors storing every tensor as dtype:
// "F32", or "F16" (half the size; values rounded to nearest even, and a value
// beyond float16's range is an error naming its tensor).
func EncodeSafetensorsAs(w io.Writer, tensors map[string]*tensor.Tensor, metadata map[string]string, dtype string) error {
	var elem int64
	switch dtype {
	case "F32":
		elem = 4
	case "F16":
		elem = 2
	default:
		return fmt.Errorf("safetensors: writing %s is not supported (F32 or F16)", dtype)
	}
	for _, k := range sortedKeys(metadata) {
		if v := metadata[k]; !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("safetensors: metadata %q: not valid UTF-8", k)
		}
	}
	// Compact JSON without HTML escapes, as serde_json writes it.
	var hdr bytes.Buffer
	enc := json.NewEncoder(&hdr)
	enc.SetEscapeHTML(false)
	put := func(key string, v any) error {
		if hdr.Len() > 0 {
			hdr.WriteByte(',')
		} else {
			hdr.WriteByte('{')
		}
		if err := enc.Encode(key); err != nil {
			return err
		}
		hdr.Truncate(hdr.Len() - 1) // Encode ends each value with a newline
		hdr.WriteByte(':')
		if err := enc.Encode(v); err != nil {
			return err
		}
		hdr.Truncate(hdr.Len() - 1)
		return nil
	}
	if len(metadata) > 0 {
		if err := put("__metadata__", metadata); err != nil {
			return fmt.Errorf("safetensors: %w", err)
		}
	}
	names := sortedKeys(tensors)
	var off int64
	for _, name := range names {
		t := tensors[name]
		if name == "" || name == "__metadata__" || !utf8.ValidString(name) {
			return fmt.Errorf("safetensors: invalid tensor name %q", name)
		}
		n, err := tensor.CheckShape(t.Shape)
		if err != nil {
			return fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		if n != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %q: shape %v needs %d values, has %d", name, t.Shape, n, len(t.Data))
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		err = put(name, struct {
			Dtype       string  `json:"dtype"`
			Shape       []int   `json:"shape"`
			DataOffsets []int64 `json:"data_offsets"`
		}{dtype, shape, []int64{off, off + int64(n)*elem}})
		if err != nil {
			return fmt.Errorf("safetensors: %w", err)
		}
		off += int64(n) * elem
	}
	if hdr.Len() == 0 {
		hdr.WriteByte('{')
	}
	hdr.WriteByte('}')
	js := hdr.Bytes()
	pad := (8 - len(js)%8) % 8
	js = append(js, bytes.Repeat([]byte(" "), pad)...)
	if len(js) > maxSafetensorsHeader {
		return fmt.Errorf("safetensors: header of %d bytes exceeds the %d-byte limit", len(js), maxSafetensorsHeader)
	}
	var pre [8]byte
	binary.LittleEndian.PutUint64(pre[:], uint64(len(js)))
	if _, err := w.Write(pre[:]); err != nil {
		return err
	}
	if _, err := w.Write(js); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	for _, name := range names {
		for _, v := range tensors[name].Data {
			if elem == 2 {
				h, ok := floatToHalf(v)
				if !ok {
					return fmt.Errorf("safetensors: tensor %q: %v is beyond float16's range", name, v)
				}
				buf = binary.LittleEndian.AppendUint16(buf, h)
			} else {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
			if len(buf) >= cap(buf)-4 {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	_, err := w.Write(buf)
	return err
}

// WriteSafetensors writes tensors and metadata to path atomically (see
// EncodeSafetensors): a temporary file beside path is written, synced and
// renamed over it, so a reader never sees a partial file.
func WriteSafetensors(path string, tensors map[string]*tensor.Tensor, metadata map[string]string) error {
	return WriteSafetensorsAs(path, tensors, metadata, "F32")
}

// WriteSafetensorsAs is WriteSafetensors storing dtype (see EncodeSafetensorsAs).
func WriteSafetensorsAs(path string, tensors map[string]*tensor.Tensor, metadata map[string]string, dtype string) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		return EncodeSafetensorsAs(w, tensors, metadata, dtype)
	})
}
