package weights

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/nlpodyssey/gopickle/types"
)

// The allow-list: the only globals a weight file may name. Everything else is
// refused by name, both by scanPickle and by findClass (belt and braces).
//
//	collections.OrderedDict             state dicts (resolved inside gopickle)
//	torch._utils._rebuild_tensor_v2     every tensor
//	torch._utils._rebuild_parameter[_with_state]  nn.Parameter wrappers
//	torch.<T>Storage, torch.UntypedStorage        storage types in persistent ids
//	torch.Size                          shapes pickled as torch.Size
//	numpy[._core|.core].multiarray._reconstruct, numpy.ndarray, numpy.dtype
//	_codecs.encode                      bytes in protocol-2 pickles written by Python 3

// torchStorageDtypes maps torch storage classes to dtype names. Only the four
// float types are ever decoded; the rest exist so that files holding integer
// buffers (num_batches_tracked) still parse and those buffers can be dropped.
var torchStorageDtypes = map[string]string{
	"FloatStorage": "float32", "HalfStorage": "float16", "BFloat16Storage": "bfloat16",
	"DoubleStorage": "float64", "LongStorage": "int64", "IntStorage": "int32",
	"ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
	"ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128",
	"UntypedStorage": "uint8", // torch >= 2 counts untyped storages in bytes
}

var elemSizes = map[string]int{
	"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int64": 8, "int32": 4,
	"int16": 2, "int8": 1, "uint8": 1, "bool": 1, "complex64": 8, "complex128": 16,
}

func allowedGlobal(module, name string) bool {
	switch module {
	case "collections":
		return name == "OrderedDict"
	case "torch._utils":
		return name == "_rebuild_tensor_v2" || name == "_rebuild_parameter" || name == "_rebuild_parameter_with_state"
	case "torch":
		_, ok := torchStorageDtypes[name]
		return ok || name == "Size"
	case "numpy.core.multiarray", "numpy._core.multiarray":
		return name == "_reconstruct"
	case "numpy":
		return name == "ndarray" || name == "dtype"
	case "_codecs":
		return name == "encode"
	}
	return false
}

// pyFunc is an allowed Python callable implemented in Go.
type pyFunc struct {
	name string
	call func(args []any) (any, error)
}

func (f *pyFunc) Call(args ...any) (any, error) {
	v, err := f.call(args)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.name, err)
	}
	return v, nil
}

// storageType is the value of a torch.<T>Storage global.
type storageType struct{ dtype string }

// ndarrayClass is the value of the numpy.ndarray global.
type ndarrayClass struct{}

// findClass resolves an allowed global; anything else is an error naming it.
func findClass(module, name string) (any, error) {
	if !allowedGlobal(module, name) {
		return nil, fmt.Errorf("global %s.%s is not allowed in a weight file", module, name)
	}
	full := module + "." + name
	switch module {
	case "torch._utils":
		if name == "_rebuild_tensor_v2" {
			return &pyFunc{full, rebuildTensor}, nil
		}
		return &pyFunc{full, rebuildParameter}, nil
	case "torch":
		if name == "Size" {
			return &pyFunc{full, torchSize}, nil
		}
		return &storageType{torchStorageDtypes[name]}, nil
	case "numpy.core.multiarray", "numpy._core.multiarray":
		return &pyFunc{full, reconstructNdarray}, nil
	case "numpy":
		if name == "ndarray" {
			return &ndarrayClass{}, nil
		}
		return &pyFunc{full, newDtype}, nil
	case "_codecs":
		return &pyFunc{full, codecsEncode}, nil
	}
	return nil, fmt.Errorf("global %s is not implemented", full) // collections.OrderedDict never gets here
}

// torchStorage is one storage (or, in legacy files, a view of one).
type torchStorage struct {
	key    string // record name in the archive / key in the legacy storage list
	dtype  string
	numel  int // elements of this storage (of the view, for legacy views)
	offset int // element offset of a legacy view into its root storage
}

// torchTensor is what _rebuild_tensor_v2 returns: a strided view of a storage.
type torchTensor struct {
	storage *torchStorage
	offset  int
	shape   []int
	stride  []int
}

// rebuildTensor checks _rebuild_tensor_v2(storage, storage_offset, size,
// stride, requires_grad, backward_hooks[, metadata]): the view must lie inside
// its storage, with non-negative strides.
func rebuildTensor(args []any) (any, error) {
	if len(args) < 4 || len(args) > 7 {
		return nil, fmt.Errorf("%d arguments", len(args))
	}
	st, ok := args[0].(*torchStorage)
	if !ok {
		return nil, fmt.Errorf("argument 0 is %s, not a storage", typeName(args[0]))
	}
	offset, err := toInt(args[1])
	if err != nil || offset < 0 {
		return nil, fmt.Errorf("bad storage offset %v", args[1])
	}
	shape, err := intTuple(args[2])
	if err != nil {
		return nil, fmt.Errorf("size: %w", err)
	}
	stride, err := intTuple(args[3])
	if err != nil {
		return nil, fmt.Errorf("stride: %w", err)
	}
	if len(shape) != len(stride) {
		return nil, fmt.Errorf("size %v and stride %v differ in rank", shape, stride)
	}
	n, err := checkShape(shape)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		// The highest element index the view touches must lie inside the
		// storage; checking each step by division keeps it free of overflow.
		if offset >= st.numel {
			return nil, fmt.Errorf("storage offset %d is outside its storage of %d elements", offset, st.numel)
		}
		reach := offset
		for i, d := range shape {
			s := stride[i]
			if d > 1 && s > 0 && d-1 > (st.numel-1-reach)/s {
				return nil, fmt.Errorf("tensor of size %v, stride %v at offset %d runs past its storage of %d elements",
					shape, stride, offset, st.numel)
			}
			if d > 1 {
				reach += (d - 1) * s
			}
		}
	}
	return &torchTensor{storage: st, offset: offset, shape: shape, stride: stride}, nil
}

// rebuildParameter unwraps nn.Parameter(data, requires_grad, hooks[, state]).
func rebuildParameter(args []any) (any, error) {
	if len(args) < 1 {
		return nil, errors.New("no arguments")
	}
	t, ok := args[0].(*torchTensor)
	if !ok {
		return nil, fmt.Errorf("argument 0 is %s, not a tensor", typeName(args[0]))
	}
	return t, nil
}

func torchSize(args []any) (any, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("%d arguments", len(args))
	}
	if _, err := intTuple(args[0]); err != nil {
		return nil, err
	}
	return args[0], nil
}

// ndarray is a numpy array rebuilt from _reconstruct + __setstate__.
type ndarray struct {
	shape   []int
	dtype   *npDtype
	fortran bool
	data    []byte
	set     bool
}

func reconstructNdarray(args []any) (any, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("%d arguments", len(args))
	}
	if _, ok := args[0].(*ndarrayClass); !ok {
		return nil, fmt.Errorf("can only rebuild numpy.ndarray, not %s", typeName(args[0]))
	}
	return &ndarray{}, nil
}

// PySetState takes numpy's (version, shape, dtype, is_fortran, rawdata) state.
func (a *ndarray) PySetState(state any) error {
	t, ok := state.(*types.Tuple)
	if !ok {
		return fmt.Errorf("ndarray state is %s, not a tuple", typeName(state))
	}
	s := []any(*t)
	if len(s) == 5 {
		s = s[1:]
	}
	if len(s) != 4 || a.set {
		return errors.New("ndarray: unexpected state")
	}
	shape, err := intTuple(s[0])
	if err != nil {
		return fmt.Errorf("ndarray shape: %w", err)
	}
	n, err := checkShape(shape)
	if err != nil {
		return fmt.Errorf("ndarray: %w", err)
	}
	dt, ok := s[1].(*npDtype)
	if !ok {
		return fmt.Errorf("ndarray dtype is %s", typeName(s[1]))
	}
	fortran, ok := s[2].(bool)
	if !ok {
		return errors.New("ndarray: is_fortran is not a bool")
	}
	var data []byte
	switch d := s[3].(type) {
	case []byte:
		data = d
	case string: // Python 2 str
		data = []byte(d)
	default:
		return fmt.Errorf("ndarray data is %s, not bytes", typeName(s[3]))
	}
	if dt.itemsize == 0 || int64(len(data)) != int64(n)*int64(dt.itemsize) {
		return fmt.Errorf("ndarray %s%v needs %d bytes of data, has %d", dt.descr(), shape, int64(n)*int64(dt.itemsize), len(data))
	}
	*a = ndarray{shape: shape, dtype: dt, fortran: fortran, data: data, set: true}
	return nil
}

// npDtype is numpy.dtype(spec, align, copy) plus its __setstate__ byte order.
type npDtype struct {
	kind     string // e.g. "f4"
	order    string // "<", ">", "|", "="
	itemsize int
}

func newDtype(args []any) (any, error) {
	if len(args) < 1 {
		return nil, errors.New("no arguments")
	}
	spec, ok := args[0].(string)
	if !ok || len(spec) < 2 || len(spec) > 4 {
		return nil, fmt.Errorf("unsupported dtype spec %v", args[0])
	}
	size := 0
	for _, c := range spec[1:] {
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("unsupported dtype spec %q", spec)
		}
		size = size*10 + int(c-'0')
	}
	return &npDtype{kind: spec, order: "|", itemsize: size}, nil
}

func (d *npDtype) PySetState(state any) error {
	t, ok := state.(*types.Tuple)
	if !ok || t.Len() < 2 {
		return errors.New("dtype: unexpected state")
	}
	order, ok := t.Get(1).(string)
	if !ok || (order != "<" && order != ">" && order != "|" && order != "=") {
		return fmt.Errorf("dtype: bad byte order %v", t.Get(1))
	}
	d.order = order
	return nil
}

// descr is numpy's dtype string, e.g. "<f4".
func (d *npDtype) descr() string { return d.order + d.kind }

// name maps the dtype to ours; big-endian and unknown dtypes get names that
// kindOf does not know, so that they are refused if a kept tensor has one.
func (d *npDtype) name() string {
	names := map[string]string{"f2": "float16", "f4": "float32", "f8": "float64", "i8": "int64",
		"i4": "int32", "i2": "int16", "i1": "int8", "u8": "uint64", "u4": "uint32", "u2": "uint16",
		"u1": "uint8", "b1": "bool"}
	n, ok := names[d.kind]
	if !ok {
		return fmt.Sprintf("numpy %q", d.descr())
	}
	if d.order == ">" && d.itemsize > 1 {
		return "big-endian " + n
	}
	return n
}

// codecsEncode implements _codecs.encode(str, "latin1"), which Python 3 uses
// to pickle bytes at protocol 2: every rune must be a single latin-1 byte.
func codecsEncode(args []any) (any, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("%d arguments", len(args))
	}
	s, ok1 := args[0].(string)
	enc, ok2 := args[1].(string)
	if !ok1 || !ok2 || (enc != "latin1" && enc != "latin-1") {
		return nil, fmt.Errorf("only encode(str, 'latin1') is supported")
	}
	// Latin-1 code points 0x80-0xff are the UTF-8 pairs C2 80 .. C3 BF.
	out := make([]byte, len(s))
	j := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			if (c != 0xc2 && c != 0xc3) || i+1 == len(s) || s[i+1]&0xc0 != 0x80 {
				return nil, errors.New("string is not latin-1")
			}
			i++
			c = (c&0x1f)<<6 | s[i]&0x3f
		}
		out[j] = c
		j++
	}
	return out[:j], nil
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case *big.Int:
		if x.IsInt64() {
			return int(x.Int64()), nil
		}
	}
	return 0, fmt.Errorf("%s is not an integer", typeName(v))
}

// intTuple converts a tuple (or list) of non-negative ints.
func intTuple(v any) ([]int, error) {
	var items []any
	switch x := v.(type) {
	case *types.Tuple:
		items = *x
	case *types.List:
		items = *x
	default:
		return nil, fmt.Errorf("%s is not a tuple", typeName(v))
	}
	if len(items) > maxRank {
		return nil, fmt.Errorf("%d dimensions (at most %d)", len(items), maxRank)
	}
	out := make([]int, len(items))
	for i, it := range items {
		d, err := toInt(it)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("element %d is not a non-negative integer", i)
		}
		out[i] = d
	}
	return out, nil
}

// typeName describes a pickled value in Python terms for error messages.
func typeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case int, *big.Int:
		return "int"
	case bool:
		return "bool"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case *types.Tuple:
		return "tuple"
	case *types.List:
		return "list"
	case *types.Dict, *types.OrderedDict:
		return "dict"
	case *torchTensor:
		return "tensor"
	case *torchStorage:
		return "storage"
	case *ndarray:
		return "ndarray"
	case *pyFunc:
		return x.name
	}
	return fmt.Sprintf("%T", v)
}
