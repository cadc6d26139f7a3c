package weights

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/nlpodyssey/gopickle/types"
)

// wrapperKeys are the entries training scripts wrap a state dict in, in the
// order they are tried (timm and most scripts: state_dict; official DLA and
// others: model / net ...).
var wrapperKeys = []string{"state_dict", "model_state_dict", "model_state", "model", "net"}

// stateDict finds the name -> tensor mapping inside a checkpoint: the object
// itself when it holds tensors, else the first wrapper entry that is a dict
// (a few levels deep at most).
func stateDict(obj any) (map[string]any, error) {
	for depth := 0; depth < 4; depth++ {
		items, err := dictItems(obj)
		if err != nil {
			return nil, fmt.Errorf("the file holds a %s, not a state dict", typeName(obj))
		}
		for _, v := range items {
			if isTensor(v) {
				return tensorEntries(items)
			}
		}
		var next any
		for _, k := range wrapperKeys {
			if v, ok := items[k]; ok {
				if _, err := dictItems(v); err == nil {
					next = v
					break
				}
			}
		}
		if next == nil {
			return nil, fmt.Errorf("no tensors found (top-level keys: %s)", keyList(items))
		}
		obj = next
	}
	return nil, errors.New("no tensors found: state dict wrapped too deeply")
}

func isTensor(v any) bool {
	switch x := v.(type) {
	case *torchTensor, *ndarray:
		return true
	case *types.Tuple:
		_, ok := tupleArray(x)
		return ok
	}
	return false
}

// tupleArray unwraps the (name, ndarray) tuples paddle.save writes for tensors
// pickled outside a plain state dict.
func tupleArray(t *types.Tuple) (*ndarray, bool) {
	if t.Len() != 2 {
		return nil, false
	}
	_, ok1 := t.Get(0).(string)
	a, ok2 := t.Get(1).(*ndarray)
	return a, ok1 && ok2
}

func tensorEntries(items map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(items))
	for k, v := range items {
		switch x := v.(type) {
		case *torchTensor, *ndarray:
			out[k] = v
		case *types.Tuple:
			a, ok := tupleArray(x)
			if !ok {
				return nil, fmt.Errorf("entry %q is a tuple, not a tensor", k)
			}
			out[k] = a
		default:
			if k == paddleStructureName {
				continue // Paddle's structured-name -> parameter-name table
			}
			if k == "UnpackBigParamInfor@@" {
				return nil, errors.New("parameters split by paddle.save (UnpackBigParamInfor@@) are not supported")
			}
			return nil, fmt.Errorf("entry %q is a %s, not a tensor", k, typeName(v))
		}
	}
	return out, nil
}

// dictItems returns a pickled dict or OrderedDict with string keys.
func dictItems(v any) (map[string]any, error) {
	out := map[string]any{}
	set := func(k, val any) error {
		s, ok := k.(string)
		if !ok {
			return fmt.Errorf("dict key is a %s, not a str", typeName(k))
		}
		out[s] = val
		return nil
	}
	switch d := v.(type) {
	case *types.Dict:
		for _, e := range *d {
			if err := set(e.Key, e.Value); err != nil {
				return nil, err
			}
		}
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			if err := set(entry.Key, entry.Value); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("%s is not a dict", typeName(v))
	}
	return out, nil
}

func keyList(items map[string]any) string {
	keys := make([]string, 0, len(items))
	for k := range items {
		keys = append(keys, fmt.Sprintf("%q", k))
	}
	sort.Strings(keys)
	if len(keys) > 10 {
		keys = append(keys[:10], "...")
	}
	return strings.Join(keys, ", ")
}

// readPaddle reads a PaddlePaddle .pdparams file: one pickle (protocol 2 to 4)
// of a dict from parameter name to numpy array.
func readPaddle(r io.ReaderAt, size int64) (map[string]*rawTensor, error) {
	obj, n, err := loadPickleAt(r, 0, size, nil)
	if err != nil {
		return nil, fmt.Errorf("paddle: %w", err)
	}
	if n != size {
		return nil, fmt.Errorf("paddle: %d unexpected bytes after the pickle", size-n)
	}
	entries, err := stateDict(obj)
	if err != nil {
		return nil, fmt.Errorf("paddle: %w", err)
	}
	out := make(map[string]*rawTensor, len(entries))
	for name, v := range entries {
		a, ok := v.(*ndarray)
		if !ok || !a.set {
			return nil, fmt.Errorf("paddle: entry %q is a %s, not a numpy array", name, typeName(v))
		}
		n, _ := checkShape(a.shape) // checked by PySetState
		dtype := a.dtype.name()
		if a.fortran && len(a.shape) > 1 {
			return nil, fmt.Errorf("paddle: entry %q is a Fortran-order array", name)
		}
		out[name] = &rawTensor{dtype: dtype, kind: kindOf(dtype), shape: a.shape, numel: n, load: func() ([]float32, error) {
			return decodeFloats(dtype, a.data, n), nil
		}}
	}
	return out, nil
}
