// Package weights reads and writes DLA weight files: safetensors (the canonical
// format), PyTorch checkpoints (zip format and the legacy pre-1.6 format) and
// PaddleClas .pdparams, and binds them strictly to a model's list of tensors.
//
// Every file is untrusted input. Lengths are checked against the file size
// before anything is allocated, pickles run only an allow-list of globals (and
// nothing in a file is ever executed), and every error names the offending
// tensor, dtype or global.
//
// Names are normalised to timm's state-dict names ("canonical" names):
// DataParallel "module." prefixes are stripped, BatchNorm "num_batches_tracked"
// counters dropped, PaddlePaddle's BN statistics "_mean"/"_variance" renamed to
// "running_mean"/"running_var", and the unused "project" tensors the official
// DLA code keeps at inner tree nodes are dropped (see Bind).
package weights

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/dla-go/dla/tensor"
)

// Format names reported in File.Format (and in converted files' metadata).
const (
	FormatSafetensors = "safetensors"
	FormatTorchZip    = "pytorch-zip"
	FormatTorchLegacy = "pytorch-legacy"
	FormatPaddle      = "paddle"
)

const (
	maxRank             = 8 // no DLA tensor has more than 4 dimensions
	paddleStructureName = "StructuredToParameterName@@"
)

// File is a weight file loaded into memory with canonical names.
type File struct {
	Tensors  map[string]*tensor.Tensor // canonical timm names -> float32 tensors
	Format   string                    // one of the Format* constants
	Metadata map[string]string         // safetensors __metadata__; empty for other formats
}

// Load reads a weight file of any supported format; the format is detected
// from the content, never from the file name.
func Load(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	w, err := Read(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

// Read detects the format of the size bytes in r and loads them (see Load).
func Read(r io.ReaderAt, size int64) (*File, error) {
	format, err := Detect(r, size)
	if err != nil {
		return nil, err
	}
	var raw map[string]*rawTensor
	meta := map[string]string{}
	switch format {
	case FormatSafetensors:
		raw, meta, err = readSafetensorsRaw(r, size)
	case FormatTorchZip:
		raw, err = readTorchZip(r, size)
	case FormatTorchLegacy:
		raw, err = readTorchLegacy(r, size)
	case FormatPaddle:
		raw, err = readPaddle(r, size)
	}
	if err != nil {
		return nil, err
	}
	raw, err = canonicalize(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", format, err)
	}
	ts, err := materialize(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", format, err)
	}
	return &File{Tensors: ts, Format: format, Metadata: meta}, nil
}

// legacyMagic is the first pickle of a legacy torch.save file: the integer
// 0x1950a86a20f9469cfc6c, pickled with protocol 2 as LONG1.
var legacyMagic = []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.'}

// Detect returns the format of a weight file from its first bytes.
func Detect(r io.ReaderAt, size int64) (string, error) {
	var head [16]byte
	n, err := r.ReadAt(head[:], 0)
	if n < len(head) && err != nil && err != io.EOF {
		return "", err
	}
	h := head[:n]
	switch {
	case bytes.HasPrefix(h, []byte("PK\x03\x04")) || bytes.HasPrefix(h, []byte("PK\x05\x06")):
		return FormatTorchZip, nil
	case n >= 9 && looksLikeSafetensors(h):
		return FormatSafetensors, nil
	case bytes.HasPrefix(h, legacyMagic):
		return FormatTorchLegacy, nil
	case n >= 2 && h[0] == 0x80 && h[1] >= 2 && h[1] <= 5:
		return FormatPaddle, nil
	}
	var tar [8]byte
	if k, _ := r.ReadAt(tar[:], 257); k == len(tar) && bytes.HasPrefix(tar[:], []byte("ustar")) {
		return "", errors.New("weights: tar-format PyTorch checkpoints (torch < 0.4) are not supported; re-save with a newer torch")
	}
	return "", errors.New("weights: unrecognised file format (not safetensors, a PyTorch checkpoint or a PaddlePaddle pickle)")
}

// looksLikeSafetensors: an 8-byte little-endian header length below 2^40
// followed by a JSON object. A pickle cannot match (its bytes 5 to 7 are
// opcodes and 0x00 is none); the length itself is checked by the reader, so
// that an oversized header gets a precise error.
func looksLikeSafetensors(h []byte) bool {
	return h[5] == 0 && h[6] == 0 && h[7] == 0 && h[8] == '{'
}

// rawTensor is a tensor whose data has not been decoded yet, so that tensors
// dropped by canonicalize (num_batches_tracked, unused projections) are never
// read and their (integer) dtypes never matter.
type rawTensor struct {
	dtype string // as the file names it ("F64", "int64", "big-endian float32"), for messages
	kind  dtypeKind
	shape []int
	numel int
	load  func() ([]float32, error) // called only for kind floatDtype
}

// canonicalize renames raw names to timm's and drops what a timm model lacks.
func canonicalize(in map[string]*rawTensor) (map[string]*rawTensor, error) {
	out := make(map[string]*rawTensor, len(in))
	from := make(map[string]string, len(in))
	names := sortedKeys(in)
	for _, name := range names {
		c, keep := CanonicalName(name)
		if !keep {
			continue
		}
		if prev, dup := from[c]; dup {
			return nil, fmt.Errorf("tensors %q and %q both map to %q", prev, name, c)
		}
		from[c] = name
		out[c] = in[name]
	}
	for _, name := range innerProjections(sortedKeys(out)) {
		delete(out, name)
	}
	if len(out) == 0 {
		return nil, errors.New("the file holds no tensors")
	}
	return out, nil
}

// CanonicalName maps one raw state-dict name to its timm name; keep is false for
// tensors that timm models do not have (BatchNorm num_batches_tracked counters).
func CanonicalName(name string) (canonical string, keep bool) {
	name = strings.TrimPrefix(name, "module.")
	dot := strings.LastIndexByte(name, '.')
	switch name[dot+1:] {
	case "num_batches_tracked":
		return "", false
	case "_mean":
		name = name[:dot+1] + "running_mean"
	case "_variance":
		name = name[:dot+1] + "running_var"
	}
	return name, true
}

// innerProjections lists the names of official-DLA inner-node project tensors
// among names: P.project.0.weight and P.project.1.{weight,bias,running_mean,
// running_var,num_batches_tracked} where P is an inner tree node, i.e. some
// name starts with P+".tree1." while none starts with P+".root.". The official
// code computes these projections and throws the result away; timm dropped
// them, so they carry no information.
func innerProjections(names []string) []string {
	return innerProjectionsOf(names, names)
}

// isProjectionName matches P.project.0.weight and P.project.1.<BN tensor>.
func isProjectionName(name string) bool {
	i := strings.Index(name, ".project.")
	if i < 0 {
		return false
	}
	switch name[i+len(".project."):] {
	case "0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked":
		return true
	}
	return false
}

// hasPrefix reports whether some element of the sorted slice starts with p.
func hasPrefix(sorted []string, p string) bool {
	i := sort.SearchStrings(sorted, p)
	return i < len(sorted) && strings.HasPrefix(sorted[i], p)
}

// materialize decodes every tensor to float32; a tensor whose dtype cannot
// hold a weight is an error naming it.
func materialize(raw map[string]*rawTensor) (map[string]*tensor.Tensor, error) {
	out := make(map[string]*tensor.Tensor, len(raw))
	for _, name := range sortedKeys(raw) {
		rt := raw[name]
		switch rt.kind {
		case integerDtype:
			return nil, fmt.Errorf("tensor %q has dtype %s: an integer tensor cannot be a float parameter", name, rt.dtype)
		case unsupportedDtype:
			return nil, fmt.Errorf("tensor %q has dtype %s; only float64, float32, float16 and bfloat16 weights are supported", name, rt.dtype)
		}
		data, err := rt.load()
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		if len(data) != rt.numel {
			return nil, fmt.Errorf("tensor %q: decoded %d values for shape %v", name, len(data), rt.shape)
		}
		out[name] = &tensor.Tensor{Shape: rt.shape, Data: data}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkShape validates an untrusted shape: rank, signs and total size.
func checkShape(shape []int) (int, error) {
	if len(shape) > maxRank {
		return 0, fmt.Errorf("shape %v has more than %d dimensions", shape, maxRank)
	}
	return tensor.CheckShape(shape)
}
