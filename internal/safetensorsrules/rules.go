// Package safetensorsrules checks files against the reference safetensors
// implementation (huggingface/safetensors, Rust): the rules it enforces when
// it loads a file (Check) and the layout its serializer writes (CheckLayout).
// It is written from those rules alone and shares no code with package
// weights, so that tests can hold our writer and our fixtures to it.
package safetensorsrules

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"unicode/utf8"
)

// maxHeader is the reference's limit on the header length.
const maxHeader = 100_000_000

// Dtype is one of the format's dtypes and its size in bits.
type Dtype struct {
	Name string
	Bits uint64
}

// dtypes lists the format's dtypes in the order of the reference's Dtype enum
// (its serializer sorts by this order, descending).
var dtypes = []Dtype{
	{"BOOL", 8}, {"F4", 4}, {"F6_E2M3", 6}, {"F6_E3M2", 6}, {"U8", 8}, {"I8", 8},
	{"F8_E5M2", 8}, {"F8_E4M3", 8}, {"F8_E8M0", 8}, {"F8_E4M3FNUZ", 8}, {"F8_E5M2FNUZ", 8},
	{"I16", 16}, {"U16", 16}, {"F16", 16}, {"BF16", 16}, {"I32", 32}, {"U32", 32},
	{"F32", 32}, {"C64", 64}, {"F64", 64}, {"I64", 64}, {"U64", 64},
}

// Dtypes returns every dtype of the format, in the reference's enum order.
func Dtypes() []Dtype { return slices.Clone(dtypes) }

// Tensor is one header entry.
type Tensor struct {
	Name       string
	Dtype      string
	Shape      []uint64
	Begin, End uint64
	rank       int // position of Dtype in the reference's enum
}

// Header is a checked file's header, its tensors in header order.
type Header struct {
	Length      uint64 // bytes between the length prefix and the data
	Metadata    map[string]string
	HasMetadata bool
	MetadataKey int // position of __metadata__ among the header's keys
	Tensors     []Tensor
}

// Check applies the rules the reference enforces when loading a file: an
// 8-byte little-endian header length of at most 100,000,000; a UTF-8 JSON
// object (trailing whitespace allowed) whose __metadata__ maps strings to
// strings and whose other entries each hold a known dtype, a shape of
// non-negative integers and two data offsets; the tensors, in offset order,
// tile the data buffer from 0 with no gap or overlap, each spanning exactly
// its element count times its dtype's bits over 8 (a whole number of bytes,
// computed without overflow); and the buffer ends exactly at the end of the
// file. Duplicate keys are refused as ambiguous.
func Check(file []byte) (*Header, error) {
	if len(file) < 8 {
		return nil, errors.New("shorter than the 8-byte header length")
	}
	n := binary.LittleEndian.Uint64(file)
	if n > maxHeader {
		return nil, fmt.Errorf("header length %d above %d", n, maxHeader)
	}
	if n > uint64(len(file)-8) {
		return nil, fmt.Errorf("header length %d past the end of a %d-byte file", n, len(file))
	}
	raw := file[8 : 8+n]
	if !utf8.Valid(raw) {
		return nil, errors.New("header is not UTF-8")
	}
	h := &Header{Length: n}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("header is not a JSON object")
	}
	seen := map[string]bool{}
	for i := 0; dec.More(); i++ {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := t.(string) // an object's keys are strings
		if seen[key] {
			return nil, fmt.Errorf("key %q appears twice", key)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%q: %w", key, err)
		}
		if key == "__metadata__" {
			var m map[string]string
			if err := json.Unmarshal(v, &m); err != nil {
				return nil, fmt.Errorf("__metadata__ is not a string-to-string map: %w", err)
			}
			h.Metadata, h.HasMetadata, h.MetadataKey = m, true, i
			continue
		}
		ti, err := parseTensor(key, v)
		if err != nil {
			return nil, err
		}
		h.Tensors = append(h.Tensors, ti)
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, errors.New("header object is not closed")
	}
	rest := raw[dec.InputOffset():]
	if len(bytes.TrimLeft(rest, " \t\r\n")) != 0 {
		return nil, errors.New("data after the header object")
	}

	byOffset := append([]Tensor(nil), h.Tensors...)
	sort.SliceStable(byOffset, func(i, j int) bool {
		a, b := byOffset[i], byOffset[j]
		return a.Begin < b.Begin || a.Begin == b.Begin && a.End < b.End
	})
	var at uint64
	for _, t := range byOffset {
		if t.Begin != at || t.End < t.Begin {
			return nil, fmt.Errorf("tensor %q: offsets [%d, %d] where %d was expected", t.Name, t.Begin, t.End, at)
		}
		numel := uint64(1)
		for _, d := range t.Shape {
			hi, lo := bits.Mul64(numel, d)
			if hi != 0 {
				return nil, fmt.Errorf("tensor %q: element count overflows", t.Name)
			}
			numel = lo
		}
		hi, nbits := bits.Mul64(numel, dtypes[t.rank].Bits)
		if hi != 0 {
			return nil, fmt.Errorf("tensor %q: size overflows", t.Name)
		}
		if nbits%8 != 0 {
			return nil, fmt.Errorf("tensor %q: %d bits is not a whole number of bytes", t.Name, nbits)
		}
		if t.End-t.Begin != nbits/8 {
			return nil, fmt.Errorf("tensor %q: %s %v is %d bytes, its offsets span %d", t.Name, t.Dtype, t.Shape, nbits/8, t.End-t.Begin)
		}
		at = t.End
	}
	if at != uint64(len(file))-8-n {
		return nil, fmt.Errorf("the tensors cover %d bytes of a %d-byte buffer", at, uint64(len(file))-8-n)
	}
	return h, nil
}

func parseTensor(name string, v json.RawMessage) (Tensor, error) {
	var e struct {
		Dtype       *string        `json:"dtype"`
		Shape       *[]json.Number `json:"shape"`
		DataOffsets *[]json.Number `json:"data_offsets"`
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		return Tensor{}, fmt.Errorf("tensor %q: %w", name, err)
	}
	if e.Dtype == nil || e.Shape == nil || e.DataOffsets == nil {
		return Tensor{}, fmt.Errorf("tensor %q: dtype, shape and data_offsets are all required", name)
	}
	t := Tensor{Name: name, Dtype: *e.Dtype, rank: -1}
	for i, d := range dtypes {
		if d.Name == t.Dtype {
			t.rank = i
		}
	}
	if t.rank < 0 {
		return Tensor{}, fmt.Errorf("tensor %q: unknown dtype %q", name, t.Dtype)
	}
	var err error
	if t.Shape, err = usizes(*e.Shape); err != nil {
		return Tensor{}, fmt.Errorf("tensor %q: shape: %w", name, err)
	}
	offs, err := usizes(*e.DataOffsets)
	if err != nil || len(offs) != 2 {
		return Tensor{}, fmt.Errorf("tensor %q: data_offsets must be two non-negative integers", name)
	}
	t.Begin, t.End = offs[0], offs[1]
	return t, nil
}

func usizes(ns []json.Number) ([]uint64, error) {
	out := make([]uint64, len(ns))
	for i, n := range ns {
		v, err := strconv.ParseUint(string(n), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s is not a non-negative integer", n)
		}
		out[i] = v
	}
	return out, nil
}

// CheckLayout applies Check and then the layout the reference serializer
// writes: the header padded with spaces to a multiple of 8 bytes,
// __metadata__ (when present) as its first key, the tensors listed in data
// order, and the data sorted by dtype (descending, in the reference's enum
// order), then by name.
func CheckLayout(file []byte) (*Header, error) {
	h, err := Check(file)
	if err != nil {
		return nil, err
	}
	if h.Length%8 != 0 {
		return nil, fmt.Errorf("header length %d is not a multiple of 8", h.Length)
	}
	raw := file[8 : 8+h.Length]
	if end := bytes.LastIndexByte(raw, '}'); len(bytes.Trim(raw[end+1:], " ")) != 0 {
		return nil, errors.New("the header is padded with something other than spaces")
	}
	if h.HasMetadata && h.MetadataKey != 0 {
		return nil, errors.New("__metadata__ is not the first key")
	}
	for i := 1; i < len(h.Tensors); i++ {
		a, b := h.Tensors[i-1], h.Tensors[i]
		if a.End != b.Begin {
			return nil, fmt.Errorf("tensor %q is listed after %q but does not follow it in the data", b.Name, a.Name)
		}
		if a.rank < b.rank || a.rank == b.rank && a.Name >= b.Name {
			return nil, fmt.Errorf("tensor %s %q comes after %s %q: not sorted by dtype (descending), then name", b.Dtype, b.Name, a.Dtype, a.Name)
		}
	}
	if len(h.Tensors) > 0 && h.Tensors[0].Begin != 0 {
		return nil, fmt.Errorf("the first tensor listed, %q, does not start the data", h.Tensors[0].Name)
	}
	return h, nil
}
