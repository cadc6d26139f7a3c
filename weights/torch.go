package weights

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"path"
	"strings"

	"github.com/nlpodyssey/gopickle/types"
)

// maxDataPkl caps the data.pkl record of a zip checkpoint: it holds only the
// structure (names, shapes, storage keys), about 30 bytes per tensor.
const maxDataPkl = 64 << 20

// loadPickleAt scans, then unpickles, the pickle that starts at off; it returns
// the value and the pickle's length.
func loadPickleAt(r io.ReaderAt, off, size int64, persistent func(any) (any, error)) (any, int64, error) {
	n, err := scanPickle(io.NewSectionReader(r, off, size-off), size-off, allowedGlobal)
	if err != nil {
		return nil, 0, err
	}
	v, err := unpickle(bufio.NewReaderSize(io.NewSectionReader(r, off, n), 1<<16), findClass, persistent)
	if err != nil {
		return nil, 0, err
	}
	return v, n, nil
}

// storageSet collects the storages a checkpoint's pickle refers to.
type storageSet struct {
	byKey map[string]*torchStorage
	total int64 // elements over all root storages: the budget for materialising
}

// persistentID resolves ('storage', type, key, location, numel[, view]) ids.
// limit bounds any one storage's size in bytes (the file size).
func (s *storageSet) persistentID(limit int64) func(any) (any, error) {
	return func(pid any) (any, error) {
		t, ok := pid.(*types.Tuple)
		if !ok || t.Len() < 5 || t.Len() > 6 {
			return nil, fmt.Errorf("persistent id %s is not a storage tuple", typeName(pid))
		}
		if kind, _ := t.Get(0).(string); kind != "storage" {
			return nil, fmt.Errorf("persistent id of kind %v is not supported", t.Get(0))
		}
		stype, ok := t.Get(1).(*storageType)
		if !ok {
			return nil, fmt.Errorf("storage type is %s", typeName(t.Get(1)))
		}
		key, ok := t.Get(2).(string)
		if !ok || key == "" || len(key) > 256 {
			return nil, errors.New("bad storage key")
		}
		numel, err := toInt(t.Get(4))
		elem := elemSizes[stype.dtype]
		if err != nil || numel < 0 || int64(numel) > limit/int64(elem) {
			return nil, fmt.Errorf("storage %q: size %v does not fit in the file", key, t.Get(4))
		}
		root := s.byKey[key]
		if root == nil {
			root = &torchStorage{key: key, dtype: stype.dtype, numel: numel}
			s.byKey[key] = root
			s.total += int64(numel)
		} else if root.dtype != stype.dtype || root.numel != numel {
			return nil, fmt.Errorf("storage %q is declared twice with different types or sizes", key)
		}
		if t.Len() == 6 && t.Get(5) != nil {
			// Legacy storage view: (view_key, offset, view_size) into root.
			v, ok := t.Get(5).(*types.Tuple)
			if !ok || v.Len() != 3 {
				return nil, fmt.Errorf("storage %q: bad view metadata", key)
			}
			off, err1 := toInt(v.Get(1))
			vn, err2 := toInt(v.Get(2))
			if err1 != nil || err2 != nil || off < 0 || vn < 0 || off > numel || vn > numel-off {
				return nil, fmt.Errorf("storage %q: view [%v, +%v) outside %d elements", key, v.Get(1), v.Get(2), numel)
			}
			return &torchStorage{key: key, dtype: stype.dtype, numel: vn, offset: off}, nil
		}
		return root, nil
	}
}

// torchRaw turns the tensors of a state dict into rawTensors that decode from
// the root storages returned by data (each fetched at most once). The total
// decoded size is capped at twice the stored elements, since views may share
// storage but a hostile file could otherwise view one storage many times.
func torchRaw(entries map[string]any, set *storageSet, data func(*torchStorage) ([]byte, error)) (map[string]*rawTensor, error) {
	cache := map[string][]byte{}
	budget := 2*set.total + 1<<16
	out := make(map[string]*rawTensor, len(entries))
	for name, v := range entries {
		t, ok := v.(*torchTensor)
		if !ok {
			return nil, fmt.Errorf("entry %q is a %s, not a torch tensor", name, typeName(v))
		}
		n, _ := checkShape(t.shape) // checked by rebuildTensor
		rt := &rawTensor{dtype: t.storage.dtype, kind: kindOf(t.storage.dtype), shape: t.shape, numel: n}
		rt.load = func() ([]float32, error) {
			if budget -= int64(n); budget < 0 {
				return nil, errors.New("tensors view shared storage far more often than a checkpoint does")
			}
			root := set.byKey[t.storage.key]
			b, ok := cache[root.key]
			if !ok {
				var err error
				if b, err = data(root); err != nil {
					return nil, fmt.Errorf("storage %q: %w", root.key, err)
				}
				cache[root.key] = b
			}
			return gather(t, b), nil
		}
		out[name] = rt
	}
	return out, nil
}

// gather decodes the (already bounds-checked) strided view t from the bytes of
// its root storage.
func gather(t *torchTensor, b []byte) []float32 {
	dtype := t.storage.dtype
	n, _ := checkShape(t.shape)
	base := t.storage.offset + t.offset
	contiguous, want := true, 1
	for i := len(t.shape) - 1; i >= 0; i-- {
		if t.shape[i] != 1 && t.stride[i] != want {
			contiguous = false
		}
		want *= t.shape[i]
	}
	if n == 0 {
		return []float32{} // an empty view's offset is never checked, so never used
	}
	es := elemSizes[dtype]
	if contiguous {
		return decodeFloats(dtype, b[base*es:(base+n)*es], n)
	}
	out := make([]float32, n)
	idx := make([]int, len(t.shape))
	for i := range out {
		off := base
		for d, k := range idx {
			off += k * t.stride[d]
		}
		out[i] = decodeOne(dtype, b, off)
		for d := len(idx) - 1; d >= 0; d-- {
			if idx[d]++; idx[d] < t.shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

// readTorchZip reads a torch.save file in the zip format (torch >= 1.6):
// <prefix>/data.pkl holds the structure, <prefix>/data/<key> each storage.
func readTorchZip(r io.ReaderAt, size int64) (map[string]*rawTensor, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("pytorch zip: %w", err)
	}
	records := map[string]*zip.File{}
	var pkl *zip.File
	for _, f := range zr.File {
		records[f.Name] = f
		if path.Base(f.Name) == "data.pkl" && strings.Count(f.Name, "/") <= 1 {
			if pkl != nil {
				return nil, errors.New("pytorch zip: more than one data.pkl")
			}
			pkl = f
		}
		if path.Base(f.Name) == "constants.pkl" {
			return nil, errors.New("pytorch zip: TorchScript archives are not supported; save the model's state_dict() instead")
		}
	}
	if pkl == nil {
		return nil, errors.New("pytorch zip: no data.pkl record (not a torch.save checkpoint)")
	}
	prefix := path.Dir(pkl.Name) + "/"
	if prefix == "./" {
		prefix = ""
	}
	remaining := size // bytes all records together may decode to
	read := func(f *zip.File, max int64) ([]byte, error) {
		if f.UncompressedSize64 > uint64(max) || int64(f.UncompressedSize64) > remaining {
			return nil, fmt.Errorf("record %s claims %d bytes, more than the file can hold", f.Name, f.UncompressedSize64)
		}
		remaining -= int64(f.UncompressedSize64)
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		b := make([]byte, f.UncompressedSize64)
		if _, err := io.ReadFull(rc, b); err != nil {
			return nil, fmt.Errorf("record %s: %w", f.Name, noEOF(err))
		}
		var one [1]byte
		if _, err := rc.Read(one[:]); err != io.EOF { // EOF is where the CRC is checked
			if err == nil {
				err = errors.New("longer than declared")
			}
			return nil, fmt.Errorf("record %s: %w", f.Name, err)
		}
		return b, nil
	}
	if bo := records[prefix+"byteorder"]; bo != nil {
		b, err := read(bo, 16)
		if err != nil {
			return nil, fmt.Errorf("pytorch zip: %w", err)
		}
		if string(b) != "little" {
			return nil, fmt.Errorf("pytorch zip: byte order %q is not supported", b)
		}
	}
	pb, err := read(pkl, maxDataPkl)
	if err != nil {
		return nil, fmt.Errorf("pytorch zip: %w", err)
	}
	set := &storageSet{byKey: map[string]*torchStorage{}}
	pid := set.persistentID(size)
	checked := func(v any) (any, error) {
		s, err := pid(v)
		if err != nil {
			return nil, err
		}
		st := s.(*torchStorage)
		f := records[prefix+"data/"+st.key]
		if f == nil {
			return nil, fmt.Errorf("storage %q has no data record", st.key)
		}
		if want := uint64(set.byKey[st.key].numel) * uint64(elemSizes[st.dtype]); f.UncompressedSize64 != want {
			return nil, fmt.Errorf("storage %q: record holds %d bytes, %s storage of %d elements needs %d",
				st.key, f.UncompressedSize64, st.dtype, set.byKey[st.key].numel, want)
		}
		return s, nil
	}
	obj, _, err := loadPickleAt(bytesReaderAt(pb), 0, int64(len(pb)), checked)
	if err != nil {
		return nil, fmt.Errorf("pytorch zip: data.pkl: %w", err)
	}
	entries, err := stateDict(obj)
	if err != nil {
		return nil, fmt.Errorf("pytorch zip: %w", err)
	}
	return torchRaw(entries, set, func(st *torchStorage) ([]byte, error) {
		return read(records[prefix+"data/"+st.key], size)
	})
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// legacyMagicValue and legacyProtocol open every legacy torch.save file.
var legacyMagicValue, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

const legacyProtocol = 1001

// readTorchLegacy reads the pre-1.6 torch.save format: pickles of the magic
// number, the protocol version and system info, then the object, then the
// list of storage keys, then each storage as an int64 element count followed
// by its raw little-endian elements.
func readTorchLegacy(r io.ReaderAt, size int64) (map[string]*rawTensor, error) {
	var off int64
	next := func(what string, persistent func(any) (any, error)) (any, error) {
		v, n, err := loadPickleAt(r, off, size, persistent)
		if err != nil {
			return nil, fmt.Errorf("pytorch legacy: %s: %w", what, err)
		}
		off += n
		return v, nil
	}
	magic, err := next("magic number", nil)
	if err != nil {
		return nil, err
	}
	if m, ok := magic.(*big.Int); !ok || m.Cmp(legacyMagicValue) != 0 {
		return nil, errors.New("pytorch legacy: bad magic number")
	}
	proto, err := next("protocol version", nil)
	if err != nil {
		return nil, err
	}
	if p, _ := proto.(int); p != legacyProtocol {
		return nil, fmt.Errorf("pytorch legacy: protocol version %v is not supported", proto)
	}
	info, err := next("system info", nil)
	if err != nil {
		return nil, err
	}
	sys, err := dictItems(info)
	if err != nil {
		return nil, fmt.Errorf("pytorch legacy: system info: %w", err)
	}
	if le, _ := sys["little_endian"].(bool); !le {
		return nil, errors.New("pytorch legacy: big-endian checkpoints are not supported")
	}
	set := &storageSet{byKey: map[string]*torchStorage{}}
	obj, err := next("state", set.persistentID(size))
	if err != nil {
		return nil, err
	}
	keysV, err := next("storage keys", nil)
	if err != nil {
		return nil, err
	}
	keys, ok := keysV.(*types.List)
	if !ok || keys.Len() != len(set.byKey) {
		return nil, fmt.Errorf("pytorch legacy: storage key list does not match the %d storages the state uses", len(set.byKey))
	}
	// Locate every storage now, so that a truncated file fails before decoding.
	where := make(map[string]int64, keys.Len())
	for _, k := range *keys {
		key, _ := k.(string)
		st := set.byKey[key]
		if st == nil || where[key] != 0 {
			return nil, fmt.Errorf("pytorch legacy: unexpected storage key %v", k)
		}
		var cnt [8]byte
		if off+8 > size {
			return nil, fmt.Errorf("pytorch legacy: storage %q: file truncated", key)
		}
		if _, err := r.ReadAt(cnt[:], off); err != nil {
			return nil, fmt.Errorf("pytorch legacy: storage %q: %w", key, err)
		}
		if c := binary.LittleEndian.Uint64(cnt[:]); c != uint64(st.numel) {
			return nil, fmt.Errorf("pytorch legacy: storage %q holds %d elements, the state says %d", key, c, st.numel)
		}
		nbytes := int64(st.numel) * int64(elemSizes[st.dtype])
		if nbytes > size-off-8 {
			return nil, fmt.Errorf("pytorch legacy: storage %q: file truncated (%d bytes needed at offset %d)", key, nbytes, off+8)
		}
		where[key] = off + 8
		off += 8 + nbytes
	}
	if off != size {
		return nil, fmt.Errorf("pytorch legacy: %d unexpected bytes after the last storage", size-off)
	}
	entries, err := stateDict(obj)
	if err != nil {
		return nil, fmt.Errorf("pytorch legacy: %w", err)
	}
	return torchRaw(entries, set, func(st *torchStorage) ([]byte, error) {
		b := make([]byte, int64(st.numel)*int64(elemSizes[st.dtype]))
		_, err := r.ReadAt(b, where[st.key])
		return b, err
	})
}
