package server

import (
	"encoding/binary"
	"math"
	"time"
)

// inputCount checks an input's name, datatype and shape against the model
// and returns how many elements its data must hold: values for FP32 input,
// images for BYTES image. Nothing of that size is allocated before.
func (s *Server) inputCount(m *servedModel, name, datatype string, shape []int64) (int, error) {
	switch name {
	case inputTensor:
		if datatype != "FP32" {
			return 0, badRequest("input %q must be FP32, not %q", name, datatype)
		}
		return s.fp32Shape(m, shape)
	case imageTensor:
		if datatype != "BYTES" {
			return 0, badRequest("input %q must be BYTES (encoded images), not %q", name, datatype)
		}
		if len(shape) != 1 {
			return 0, badRequest("input %q has shape %v, want [N]", name, shape)
		}
		return int(shape[0]), s.checkBatch(shape[0])
	}
	return 0, badRequest("unknown input %q: model %s takes %q (FP32 [N,3,H,W], preprocessed) or %q (BYTES [N], encoded images)",
		name, m.name, inputTensor, imageTensor)
}

// outputSpecFor checks one requested output; classification is the
// classification parameter (0 if absent).
func outputSpecFor(m *servedModel, name string, classification int64, binary bool) (outputSpec, error) {
	if name != logitsTensor {
		return outputSpec{}, badRequest("unknown output %q: model %s has %q", name, m.name, logitsTensor)
	}
	if classification < 0 || classification > int64(m.classes) {
		return outputSpec{}, badRequest("classification %d: want 1 to %d (the model's classes)", classification, m.classes)
	}
	return outputSpec{classification: int(classification), binary: binary}, nil
}

// clientTimeout reads the "timeout" request parameter (microseconds, as Triton's).
func clientTimeout(us int64) (time.Duration, error) {
	if us < 0 || us > int64(24*time.Hour/time.Microsecond) {
		return 0, badRequest("timeout %d: want microseconds from 0 to a day", us)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// Binary tensor data, as the binary data extension (HTTP) and
// raw_input_contents / raw_output_contents (gRPC) lay it out: elements
// little-endian and row-major; a BYTES element is its length as a
// little-endian uint32, then its bytes.

// rawFP32 reads count float32 values.
func rawFP32(name string, b []byte, count int) ([]float32, error) {
	if len(b) != 4*count {
		return nil, badRequest("input %q: %d bytes of binary data, want %d for %d FP32 values", name, len(b), 4*count, count)
	}
	out := make([]float32, count)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// rawBytes reads n length-prefixed elements that fill b exactly.
func rawBytes(name string, b []byte, n int) ([][]byte, error) {
	out := make([][]byte, 0, n)
	for i := range n {
		if len(b) < 4 {
			return nil, badRequest("input %q: binary data ends before the length of element %d of %d", name, i, n)
		}
		size := binary.LittleEndian.Uint32(b)
		b = b[4:]
		if uint64(size) > uint64(len(b)) {
			return nil, badRequest("input %q: element %d claims %d bytes, %d remain", name, i, size, len(b))
		}
		out = append(out, b[:size:size])
		b = b[size:]
	}
	if len(b) != 0 {
		return nil, badRequest("input %q: %d bytes of binary data beyond its %d elements", name, len(b), n)
	}
	return out, nil
}

// raw encodes an output tensor's elements as binary data.
func (o outputTensor) raw() []byte {
	if o.strs == nil {
		b := make([]byte, 4*len(o.fp32))
		for i, v := range o.fp32 {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		return b
	}
	n := 0
	for _, s := range o.strs {
		n += 4 + len(s)
	}
	b := make([]byte, 0, n)
	for _, s := range o.strs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}
