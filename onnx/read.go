package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// ReadFile reads and parses an ONNX model file (see Read).
func ReadFile(path string) (*Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxModelBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than an ONNX model without external data can hold", path, st.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Read(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Read parses a serialized ModelProto into the subset Model describes:
// unknown fields are skipped, float tensors are decoded from raw_data or
// float_data, and malformed input gives an error (never a panic).
func Read(b []byte) (*Model, error) {
	m := &Model{}
	err := eachField(b, func(f field) error {
		var err error
		switch f.num {
		case modelIRVersion:
			m.IRVersion, err = f.int64()
		case modelProducerName:
			m.ProducerName, err = f.string()
		case modelProducerVersion:
			m.ProducerVersion, err = f.string()
		case modelDocString:
			m.DocString, err = f.string()
		case modelOpsetImport:
			var o Opset
			o, err = readOpset(f)
			m.Opsets = append(m.Opsets, o)
		case modelMetadataProps:
			var e Entry
			e, err = readEntry(f)
			m.Metadata = append(m.Metadata, e)
		case modelGraph:
			err = readGraph(f, &m.Graph)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return m, nil
}

func readOpset(f field) (Opset, error) {
	var o Opset
	err := f.message("opset_import", func(f field) error {
		var err error
		switch f.num {
		case opsetDomain:
			o.Domain, err = f.string()
		case opsetVersion:
			o.Version, err = f.int64()
		}
		return err
	})
	return o, err
}

func readEntry(f field) (Entry, error) {
	var e Entry
	err := f.message("metadata_props", func(f field) error {
		var err error
		switch f.num {
		case entryKey:
			e.Key, err = f.string()
		case entryValue:
			e.Value, err = f.string()
		}
		return err
	})
	return e, err
}

func readGraph(f field, g *Graph) error {
	return f.message("graph", func(f field) error {
		var err error
		switch f.num {
		case graphNode:
			var n Node
			n, err = readNode(f)
			g.Nodes = append(g.Nodes, n)
		case graphName:
			g.Name, err = f.string()
		case graphInitializer:
			var t Tensor
			t, err = readTensor(f)
			g.Initializers = append(g.Initializers, t)
		case graphInput, graphOutput, graphValueInfo:
			var v ValueInfo
			v, err = readValueInfo(f)
			switch f.num {
			case graphInput:
				g.Inputs = append(g.Inputs, v)
			case graphOutput:
				g.Outputs = append(g.Outputs, v)
			default:
				g.ValueInfo = append(g.ValueInfo, v)
			}
		}
		return err
	})
}

func readNode(f field) (Node, error) {
	var n Node
	err := f.message("node", func(f field) error {
		var err error
		var s string
		switch f.num {
		case nodeInput:
			s, err = f.string()
			n.Inputs = append(n.Inputs, s)
		case nodeOutput:
			s, err = f.string()
			n.Outputs = append(n.Outputs, s)
		case nodeName:
			n.Name, err = f.string()
		case nodeOpType:
			n.OpType, err = f.string()
		case nodeAttribute:
			var a Attribute
			a, err = readAttribute(f)
			n.Attrs = append(n.Attrs, a)
		}
		return err
	})
	if err != nil {
		return n, fmt.Errorf("node %q: %w", n.Name, err)
	}
	return n, nil
}

func readAttribute(f field) (Attribute, error) {
	var a Attribute
	err := f.message("attribute", func(f field) error {
		var err error
		switch f.num {
		case attrName:
			a.Name, err = f.string()
		case attrType:
			var t int64
			t, err = f.int64()
			a.Type = int(t)
		case attrF:
			if f.typ != protowire.Fixed32Type {
				return fmt.Errorf("attribute field f has wire type %d, want fixed32", f.typ)
			}
			a.F = math.Float32frombits(uint32(f.v))
		case attrI:
			a.I, err = f.int64()
		case attrInts:
			a.Ints, err = f.appendInt64s(a.Ints)
		}
		return err
	})
	return a, err
}

func readTensor(f field) (Tensor, error) {
	var t Tensor
	dataType := int64(0)
	var raw []byte
	var floats []float32
	err := f.message("initializer", func(f field) error {
		var err error
		switch f.num {
		case tensorDims:
			t.Dims, err = f.appendInt64s(t.Dims)
		case tensorDataType:
			dataType, err = f.int64()
		case tensorName:
			t.Name, err = f.string()
		case tensorRawData:
			if f.typ != protowire.BytesType {
				return fmt.Errorf("raw_data has wire type %d", f.typ)
			}
			raw = f.b
		case tensorFloatData:
			floats, err = f.appendFloats(floats)
		}
		return err
	})
	if err == nil {
		err = t.decode(dataType, raw, floats)
	}
	if err != nil {
		return t, fmt.Errorf("initializer %q: %w", t.Name, err)
	}
	return t, nil
}

// decode checks the data against the dims and stores it in t.Data.
func (t *Tensor) decode(dataType int64, raw []byte, floats []float32) error {
	if dataType != Float {
		return fmt.Errorf("data type %d is not supported (only FLOAT, %d)", dataType, Float)
	}
	n := int64(1)
	for _, d := range t.Dims {
		if d < 0 || (d > 0 && n > MaxModelBytes/d) {
			return fmt.Errorf("bad dims %v", t.Dims)
		}
		n *= d
	}
	switch {
	case raw != nil && floats != nil:
		return fmt.Errorf("both raw_data and float_data are set")
	case raw != nil:
		if int64(len(raw)) != 4*n {
			return fmt.Errorf("raw_data has %d bytes, dims %v need %d", len(raw), t.Dims, 4*n)
		}
		t.Data = make([]float32, n)
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	default:
		if int64(len(floats)) != n {
			return fmt.Errorf("float_data has %d values, dims %v need %d", len(floats), t.Dims, n)
		}
		t.Data = floats
	}
	return nil
}

func readValueInfo(f field) (ValueInfo, error) {
	var v ValueInfo
	err := f.message("value_info", func(f field) error {
		switch f.num {
		case valueName:
			var err error
			v.Name, err = f.string()
			return err
		case valueType:
			return f.message("type", func(f field) error {
				if f.num != typeTensor {
					return fmt.Errorf("value %q is not a tensor", v.Name)
				}
				return f.message("tensor_type", func(f field) error {
					var err error
					switch f.num {
					case tensorElemType:
						var t int64
						t, err = f.int64()
						v.ElemType = int32(t)
					case tensorShape:
						err = f.message("shape", func(f field) error {
							if f.num != shapeDim {
								return nil
							}
							d, err := readDim(f)
							v.Dims = append(v.Dims, d)
							return err
						})
					}
					return err
				})
			})
		}
		return nil
	})
	if err != nil {
		return v, fmt.Errorf("value %q: %w", v.Name, err)
	}
	return v, nil
}

func readDim(f field) (Dim, error) {
	var d Dim
	err := f.message("dim", func(f field) error {
		var err error
		switch f.num {
		case dimValue:
			d.Value, err = f.int64()
		case dimParam:
			d.Param, err = f.string()
		}
		return err
	})
	return d, err
}

// field is one decoded protobuf field: v holds varint and fixed values, b
// the bytes of length-delimited ones.
type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64
	b   []byte
}

// eachField calls fn for each field of msg in order.
func eachField(msg []byte, fn func(field) error) error {
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return protowire.ParseError(n)
		}
		msg = msg[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(msg)
		case protowire.Fixed32Type:
			var x uint32
			x, n = protowire.ConsumeFixed32(msg)
			f.v = uint64(x)
		case protowire.Fixed64Type:
			f.v, n = protowire.ConsumeFixed64(msg)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(msg)
		default:
			n = protowire.ConsumeFieldValue(num, typ, msg)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		msg = msg[n:]
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

func (f field) message(what string, fn func(field) error) error {
	if f.typ != protowire.BytesType {
		return fmt.Errorf("%s (field %d) has wire type %d, want a message", what, f.num, f.typ)
	}
	return eachField(f.b, fn)
}

func (f field) string() (string, error) {
	if f.typ != protowire.BytesType {
		return "", fmt.Errorf("string field %d has wire type %d", f.num, f.typ)
	}
	return string(f.b), nil
}

func (f field) int64() (int64, error) {
	if f.typ != protowire.VarintType {
		return 0, fmt.Errorf("integer field %d has wire type %d", f.num, f.typ)
	}
	return int64(f.v), nil
}

// appendInt64s reads a repeated int64 field in either encoding: one varint
// per element (proto2's default) or packed.
func (f field) appendInt64s(dst []int64) ([]int64, error) {
	switch f.typ {
	case protowire.VarintType:
		return append(dst, int64(f.v)), nil
	case protowire.BytesType:
		for b := f.b; len(b) > 0; {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, fmt.Errorf("packed field %d: %w", f.num, protowire.ParseError(n))
			}
			dst = append(dst, int64(v))
			b = b[n:]
		}
		return dst, nil
	}
	return nil, fmt.Errorf("repeated integer field %d has wire type %d", f.num, f.typ)
}

// appendFloats reads a repeated float field, packed or not.
func (f field) appendFloats(dst []float32) ([]float32, error) {
	switch f.typ {
	case protowire.Fixed32Type:
		return append(dst, math.Float32frombits(uint32(f.v))), nil
	case protowire.BytesType:
		if len(f.b)%4 != 0 {
			return nil, fmt.Errorf("packed float field %d has %d bytes", f.num, len(f.b))
		}
		for i := 0; i < len(f.b); i += 4 {
			dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(f.b[i:])))
		}
		return dst, nil
	}
	return nil, fmt.Errorf("repeated float field %d has wire type %d", f.num, f.typ)
}
