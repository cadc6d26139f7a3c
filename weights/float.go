package weights

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/dla-go/dla/tensor"
)

// dtypeKind sorts stored dtypes by what materialize may do with them.
type dtypeKind uint8

const (
	floatDtype       dtypeKind = iota // decoded to float32 (float64 rounds to nearest)
	integerDtype                      // integers and booleans: skipped in dropped buffers, never a parameter
	unsupportedDtype                  // float8/6/4, complex, big-endian ...: refused when a kept tensor has one
)

// kindOf classifies our dtype names (torch storages, numpy arrays).
func kindOf(dtype string) dtypeKind {
	switch dtype {
	case "float64", "float32", "float16", "bfloat16":
		return floatDtype
	case "int64", "int32", "int16", "int8", "uint64", "uint32", "uint16", "uint8", "bool":
		return integerDtype
	}
	return unsupportedDtype
}

// decodeFloats converts little-endian float64/float32/float16/bfloat16 bytes
// to float32. len(b) must be n*elemSizes[dtype].
func decodeFloats(dtype string, b []byte, n int) []float32 {
	out := make([]float32, n)
	switch dtype {
	case "float64":
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	case "float32":
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case "float16":
		for i := range out {
			out[i] = halfToFloat(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case "bfloat16":
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	}
	return out
}

// decodeOne reads element i of a little-endian float buffer.
func decodeOne(dtype string, b []byte, i int) float32 {
	switch dtype {
	case "float64":
		return float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
	case "float16":
		return halfToFloat(binary.LittleEndian.Uint16(b[2*i:]))
	case "bfloat16":
		return math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
}

// halfToFloat converts IEEE 754 binary16 to float32 exactly (every half value,
// subnormals, infinities and NaN payloads included, is representable).
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf / NaN
		return math.Float32frombits(sign | 0xff<<23 | man<<13)
	case exp != 0: // normal: rebias 15 -> 127
		return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	}
	// subnormal: value = man * 2^-24, exactly representable as a normal float32
	f := float32(man) * (1.0 / (1 << 24))
	return math.Float32frombits(sign | math.Float32bits(f))
}

// floatToHalf rounds f to the nearest IEEE 754 binary16 value (ties to even),
// subnormals included; ok is false when f is finite but beyond the largest
// half (65504 rounds to at most that), or NaN.
func floatToHalf(f float32) (h uint16, ok bool) {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff
	switch {
	case exp == 0xff && man != 0:
		return 0, false // NaN
	case exp == 0xff:
		return sign | 0x7c00, true // infinity stays infinity
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return 0, false
	}
	if e <= 0 {
		// Subnormal half (or zero): shift the implicit-one mantissa right.
		if e < -10 {
			return sign, true
		}
		m := man | 0x800000
		shift := uint(14 - e)
		half := m >> shift
		rem := m & (1<<shift - 1)
		mid := uint32(1) << (shift - 1)
		if rem > mid || rem == mid && half&1 == 1 {
			half++
		}
		return sign | uint16(half), true
	}
	half := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && half&1 == 1 {
		half++ // may carry into the exponent, which is right
	}
	if half >= 0x7c00 {
		return 0, false
	}
	return sign | uint16(half), true
}

// HalfPrecision returns a copy of tensors with every value rounded to the
// nearest float16, as a file written with dtype F16 gives them back (so a
// checksum computed on the copy matches the file's contents).
func HalfPrecision(tensors map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	out := make(map[string]*tensor.Tensor, len(tensors))
	for name, t := range tensors {
		c := &tensor.Tensor{Shape: t.Shape, Data: make([]float32, len(t.Data))}
		for i, v := range t.Data {
			h, ok := floatToHalf(v)
			if !ok {
				return nil, fmt.Errorf("tensor %q: %v is beyond float16's range", name, v)
			}
			c.Data[i] = halfToFloat(h)
		}
		out[name] = c
	}
	return out, nil
}
