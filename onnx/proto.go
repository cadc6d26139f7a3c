// Package onnx writes DLA networks as ONNX models for ONNX Runtime, TensorRT
// and OpenVINO, and reads such files back. The protobuf encoding is written
// by hand over the field numbers of onnx.proto (no generated code), and
// covers the subset of ModelProto a convolutional classifier needs.
package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of onnx.proto (checked against the ONNX 1.12 onnx.proto).
const (
	modelIRVersion       = 1
	modelProducerName    = 2
	modelProducerVersion = 3
	modelDocString       = 6
	modelGraph           = 7
	modelOpsetImport     = 8
	modelMetadataProps   = 14

	opsetDomain  = 1
	opsetVersion = 2

	entryKey   = 1
	entryValue = 2

	graphNode        = 1
	graphName        = 2
	graphInitializer = 5
	graphInput       = 11
	graphOutput      = 12
	graphValueInfo   = 13

	nodeInput     = 1
	nodeOutput    = 2
	nodeName      = 3
	nodeOpType    = 4
	nodeAttribute = 5

	attrName = 1
	attrF    = 2
	attrI    = 3
	attrInts = 8
	attrType = 20

	tensorDims      = 1
	tensorDataType  = 2
	tensorFloatData = 4
	tensorName      = 8
	tensorRawData   = 9

	valueName = 1
	valueType = 2

	typeTensor     = 1 // TypeProto.tensor_type
	tensorElemType = 1 // TypeProto.Tensor.elem_type
	tensorShape    = 2 // TypeProto.Tensor.shape
	shapeDim       = 1
	dimValue       = 1
	dimParam       = 2
)

// Enumeration values of onnx.proto used here.
const (
	AttrFloat = 1 // AttributeProto.FLOAT
	AttrInt   = 2 // AttributeProto.INT
	AttrInts  = 7 // AttributeProto.INTS

	Float = 1 // TensorProto.FLOAT
)

// MaxModelBytes is protobuf's limit on one serialized message (2 GB - 1).
// Larger models would need ONNX external data files, which we do not write.
const MaxModelBytes = 1<<31 - 1

// Model is the part of ModelProto this package writes and reads.
type Model struct {
	IRVersion       int64
	Opsets          []Opset
	ProducerName    string
	ProducerVersion string
	DocString       string
	Metadata        []Entry // metadata_props, in file order
	Graph           Graph
}

// Opset is an OperatorSetIdProto; Domain "" is the default ONNX domain.
type Opset struct {
	Domain  string
	Version int64
}

// Entry is a StringStringEntryProto.
type Entry struct{ Key, Value string }

// Graph is a GraphProto.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
	ValueInfo    []ValueInfo
}

// Node is a NodeProto of the default domain.
type Node struct {
	Name    string
	OpType  string
	Inputs  []string
	Outputs []string
	Attrs   []Attribute
}

// Attribute is an AttributeProto of type FLOAT, INT or INTS.
type Attribute struct {
	Name string
	Type int
	F    float32
	I    int64
	Ints []int64
}

// Tensor is a float32 TensorProto; Data is stored as little-endian raw_data.
type Tensor struct {
	Name string
	Dims []int64
	Data []float32
}

// ValueInfo is a ValueInfoProto holding a float tensor type.
type ValueInfo struct {
	Name     string
	ElemType int32
	Dims     []Dim
}

// Dim is a TensorShapeProto.Dimension: a fixed size or a named symbolic one.
type Dim struct {
	Value int64
	Param string
}

// Meta returns the metadata value stored under key.
func (m *Model) Meta(key string) (string, bool) {
	for _, e := range m.Metadata {
		if e.Key == key {
			return e.Value, true
		}
	}
	return "", false
}

// Marshal encodes m as a serialized ModelProto.
func (m *Model) Marshal() ([]byte, error) {
	return m.marshal(MaxModelBytes)
}

// marshal sizes the model before encoding it, so that the weights are copied
// once, straight into a buffer of the final size.
func (m *Model) marshal(limit int) ([]byte, error) {
	var head []byte
	head = protowire.AppendTag(head, modelIRVersion, protowire.VarintType)
	head = protowire.AppendVarint(head, uint64(m.IRVersion))
	head = appendString(head, modelProducerName, m.ProducerName)
	head = appendString(head, modelProducerVersion, m.ProducerVersion)
	head = appendString(head, modelDocString, m.DocString)
	for _, o := range m.Opsets {
		var b []byte
		b = appendString(b, opsetDomain, o.Domain)
		b = protowire.AppendTag(b, opsetVersion, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(o.Version))
		head = appendMessage(head, modelOpsetImport, b)
	}
	for _, e := range m.Metadata {
		var b []byte
		b = appendString(b, entryKey, e.Key)
		b = appendString(b, entryValue, e.Value)
		head = appendMessage(head, modelMetadataProps, b)
	}
	nodes, tail := m.Graph.encodeSmall()
	gsize := len(nodes) + len(tail)
	for i := range m.Graph.Initializers {
		gsize += fieldSize(graphInitializer, m.Graph.Initializers[i].size())
	}
	total := len(head) + fieldSize(modelGraph, gsize)
	if total > limit {
		return nil, fmt.Errorf("onnx: the model would take %d bytes, more than protobuf's limit of %d (2 GB); external data files are not supported", total, limit)
	}
	b := make([]byte, 0, total)
	b = append(b, head...)
	b = protowire.AppendTag(b, modelGraph, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(gsize))
	b = append(b, nodes...)
	for i := range m.Graph.Initializers {
		t := &m.Graph.Initializers[i]
		b = protowire.AppendTag(b, graphInitializer, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(t.size()))
		b = t.append(b)
	}
	b = append(b, tail...)
	if len(b) != total {
		return nil, fmt.Errorf("onnx: internal error: encoded %d bytes, sized %d", len(b), total)
	}
	return b, nil
}

// encodeSmall encodes everything of the graph but its initializers: the
// nodes (field 1, written first) and the rest (name, inputs, outputs,
// value_info), written after the initializers.
func (g *Graph) encodeSmall() (nodes, tail []byte) {
	for _, n := range g.Nodes {
		nodes = appendMessage(nodes, graphNode, n.encode())
	}
	tail = appendString(tail, graphName, g.Name)
	for _, vs := range []struct {
		field protowire.Number
		list  []ValueInfo
	}{{graphInput, g.Inputs}, {graphOutput, g.Outputs}, {graphValueInfo, g.ValueInfo}} {
		for _, v := range vs.list {
			tail = appendMessage(tail, vs.field, v.encode())
		}
	}
	return nodes, tail
}

func (n Node) encode() []byte {
	var b []byte
	for _, s := range n.Inputs {
		b = appendString(b, nodeInput, s)
	}
	for _, s := range n.Outputs {
		b = appendString(b, nodeOutput, s)
	}
	b = appendString(b, nodeName, n.Name)
	b = appendString(b, nodeOpType, n.OpType)
	for _, a := range n.Attrs {
		b = appendMessage(b, nodeAttribute, a.encode())
	}
	return b
}

func (a Attribute) encode() []byte {
	var b []byte
	b = appendString(b, attrName, a.Name)
	switch a.Type {
	case AttrFloat:
		b = protowire.AppendTag(b, attrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = protowire.AppendTag(b, attrI, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.I))
	case AttrInts:
		// onnx.proto is proto2 without [packed=true]: one tag per element.
		for _, v := range a.Ints {
			b = protowire.AppendTag(b, attrInts, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(v))
		}
	}
	b = protowire.AppendTag(b, attrType, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(a.Type))
}

// header encodes the tensor's fields before raw_data.
func (t *Tensor) header() []byte {
	var b []byte
	for _, d := range t.Dims {
		b = protowire.AppendTag(b, tensorDims, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, tensorDataType, protowire.VarintType)
	b = protowire.AppendVarint(b, Float)
	return appendString(b, tensorName, t.Name)
}

func (t *Tensor) size() int {
	return len(t.header()) + fieldSize(tensorRawData, 4*len(t.Data))
}

func (t *Tensor) append(b []byte) []byte {
	b = append(b, t.header()...)
	b = protowire.AppendTag(b, tensorRawData, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(4*len(t.Data)))
	for _, v := range t.Data {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func (v ValueInfo) encode() []byte {
	var shape []byte
	for _, d := range v.Dims {
		var db []byte
		if d.Param != "" {
			db = appendString(db, dimParam, d.Param)
		} else {
			db = protowire.AppendTag(db, dimValue, protowire.VarintType)
			db = protowire.AppendVarint(db, uint64(d.Value))
		}
		shape = appendMessage(shape, shapeDim, db)
	}
	var tt []byte
	tt = protowire.AppendTag(tt, tensorElemType, protowire.VarintType)
	tt = protowire.AppendVarint(tt, uint64(v.ElemType))
	tt = appendMessage(tt, tensorShape, shape)
	var b []byte
	b = appendString(b, valueName, v.Name)
	return appendMessage(b, valueType, appendMessage(nil, typeTensor, tt))
}

// appendString writes a string field, leaving empty ones out as proto3 would.
func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

// fieldSize is the encoded size of a length-delimited field of n bytes.
func fieldSize(num protowire.Number, n int) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(n)
}
