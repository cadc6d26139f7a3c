package tensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/dla-go/dla/internal/atomicfile"
)

// npyMagic starts every .npy file (NumPy format versions 1.0, 2.0 and 3.0).
const npyMagic = "\x93NUMPY"

// maxNPYHeader caps the header we are willing to read. NumPy itself refuses
// headers above 10000 bytes unless told otherwise; a real one is ~120 bytes.
const maxNPYHeader = 1 << 16

// npyChunk is how much data is read (and allocated) at a time, so that a file
// claiming a huge shape but holding little data costs little memory.
const npyChunk = 1 << 20

// ReadNPY reads one float32 little-endian C-order array from a .npy stream
// (format versions 1, 2 and 3). Other dtypes and Fortran order are refused by
// name; the shape is checked before any data is allocated, and data is read in
// chunks, so a truncated or lying file fails with memory bounded by its size.
func ReadNPY(r io.Reader) (*Tensor, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("npy: reading magic: %w", noEOF(err))
	}
	if string(pre[:6]) != npyMagic {
		return nil, errors.New("npy: not a .npy file (bad magic)")
	}
	major, minor := pre[6], pre[7]
	var hlen int
	switch major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("npy: reading header length: %w", noEOF(err))
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("npy: reading header length: %w", noEOF(err))
		}
		n := binary.LittleEndian.Uint32(b[:])
		if n > maxNPYHeader {
			return nil, fmt.Errorf("npy: header length %d exceeds the %d-byte limit", n, maxNPYHeader)
		}
		hlen = int(n)
	default:
		return nil, fmt.Errorf("npy: unsupported format version %d.%d", major, minor)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("npy: reading %d-byte header: %w", hlen, noEOF(err))
	}
	descr, fortran, shape, err := parseNPYHeader(string(hdr))
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	if descr != "<f4" {
		return nil, fmt.Errorf("npy: dtype '%s' (%s) is not supported: float32 ('<f4') is needed", descr, dtypeName(descr))
	}
	if fortran {
		return nil, errors.New("npy: Fortran-order arrays are not supported: save a C-order array (numpy.ascontiguousarray)")
	}
	n, err := CheckShape(shape)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	data := make([]float32, 0, min(n, npyChunk/4))
	buf := make([]byte, min(n*4, npyChunk))
	for len(data) < n {
		k := min(n-len(data), len(buf)/4)
		if _, err := io.ReadFull(r, buf[:k*4]); err != nil {
			return nil, fmt.Errorf("npy: data truncated: shape %v needs %d bytes, file has %d: %w",
				shape, int64(n)*4, int64(len(data))*4, noEOF(err))
		}
		for i := 0; i < k; i++ {
			data = append(data, math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:])))
		}
	}
	return &Tensor{Shape: shape, Data: data}, nil
}

// ReadNPYFile reads a .npy file (see ReadNPY).
func ReadNPYFile(path string) (*Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := ReadNPY(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// noEOF turns a bare io.EOF (no bytes where some were needed) into
// io.ErrUnexpectedEOF, so callers never mistake a truncated file for a clean end.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func dtypeName(descr string) string {
	names := map[string]string{
		"f2": "float16", "f4": "float32", "f8": "float64", "f16": "float128",
		"i1": "int8", "i2": "int16", "i4": "int32", "i8": "int64",
		"u1": "uint8", "u2": "uint16", "u4": "uint32", "u8": "uint64", "b1": "bool",
		"c8": "complex64", "c16": "complex128",
	}
	if len(descr) > 1 {
		if name, ok := names[descr[1:]]; ok {
			switch descr[0] {
			case '>':
				return "big-endian " + name
			case '<', '|', '=':
				return name
			}
		}
	}
	return "unknown dtype"
}

// parseNPYHeader parses the Python dict literal NumPy writes, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }
// It accepts exactly the three keys, each once, in any order.
func parseNPYHeader(h string) (descr string, fortran bool, shape []int, err error) {
	p := &pyLit{s: strings.TrimRight(h, " \n\x00")}
	if !p.eat('{') {
		return "", false, nil, errors.New("header is not a dict literal")
	}
	seen := map[string]bool{}
	for {
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return "", false, nil, err
		}
		if seen[key] {
			return "", false, nil, fmt.Errorf("header repeats key %q", key)
		}
		seen[key] = true
		if !p.eat(':') {
			return "", false, nil, fmt.Errorf("header: missing ':' after %q", key)
		}
		switch key {
		case "descr":
			if descr, err = p.str(); err != nil {
				return "", false, nil, err
			}
		case "fortran_order":
			if fortran, err = p.boolean(); err != nil {
				return "", false, nil, err
			}
		case "shape":
			if shape, err = p.intTuple(); err != nil {
				return "", false, nil, err
			}
		default:
			return "", false, nil, fmt.Errorf("header has unknown key %q", key)
		}
		if !p.eat(',') {
			if !p.eat('}') {
				return "", false, nil, errors.New("header: expected ',' or '}'")
			}
			break
		}
	}
	if p.skip(); p.i != len(p.s) {
		return "", false, nil, errors.New("header: trailing characters after the dict")
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return "", false, nil, fmt.Errorf("header lacks key %q", k)
		}
	}
	return descr, fortran, shape, nil
}

// pyLit is a cursor over the tiny subset of Python literals a .npy header uses.
type pyLit struct {
	s string
	i int
}

func (p *pyLit) skip() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *pyLit) eat(c byte) bool {
	p.skip()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *pyLit) str() (string, error) {
	p.skip()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", errors.New("header: expected a quoted string")
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", errors.New("header: unterminated string")
	}
	v := p.s[p.i+1 : p.i+1+end]
	if strings.IndexByte(v, '\\') >= 0 {
		return "", errors.New("header: escaped strings are not supported")
	}
	p.i += end + 2
	return v, nil
}

func (p *pyLit) boolean() (bool, error) {
	p.skip()
	switch {
	case strings.HasPrefix(p.s[p.i:], "True"):
		p.i += 4
		return true, nil
	case strings.HasPrefix(p.s[p.i:], "False"):
		p.i += 5
		return false, nil
	}
	return false, errors.New("header: fortran_order must be True or False")
}

func (p *pyLit) intTuple() ([]int, error) {
	if !p.eat('(') {
		return nil, errors.New("header: shape must be a tuple")
	}
	shape := []int{}
	for {
		if p.eat(')') {
			return shape, nil
		}
		p.skip()
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		if j == p.i || j-p.i > 18 {
			return nil, errors.New("header: shape must hold non-negative integers")
		}
		d, err := strconv.Atoi(p.s[p.i:j])
		if err != nil {
			return nil, fmt.Errorf("header: bad dimension: %w", err)
		}
		shape = append(shape, d)
		p.i = j
		if p.eat('L') { // Python 2 long suffix
			continue
		}
		if !p.eat(',') {
			if !p.eat(')') {
				return nil, errors.New("header: expected ',' or ')' in shape")
			}
			return shape, nil
		}
	}
}

// WriteNPY writes t as a float32 little-endian C-order .npy stream (version 1.0,
// or 2.0 when the header would not fit in 64 KiB).
func WriteNPY(w io.Writer, t *Tensor) error {
	n, err := CheckShape(t.Shape)
	if err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	if n != len(t.Data) {
		return fmt.Errorf("npy: shape %v needs %d values, tensor has %d", t.Shape, n, len(t.Data))
	}
	var sb strings.Builder
	sb.WriteString("{'descr': '<f4', 'fortran_order': False, 'shape': (")
	for i, d := range t.Shape {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(strconv.Itoa(d))
	}
	if len(t.Shape) == 1 {
		sb.WriteByte(',')
	}
	sb.WriteString("), }")
	dict := sb.String()
	// The data must start on a 64-byte boundary; the header ends with '\n'.
	version, lenBytes := byte(1), 2
	if len(dict)+1+10 > math.MaxUint16 {
		version, lenBytes = 2, 4
	}
	pre := 6 + 2 + lenBytes
	total := (pre + len(dict) + 1 + 63) / 64 * 64
	hlen := total - pre
	var hdr bytes.Buffer
	hdr.WriteString(npyMagic)
	hdr.WriteByte(version)
	hdr.WriteByte(0)
	if lenBytes == 2 {
		binary.Write(&hdr, binary.LittleEndian, uint16(hlen))
	} else {
		binary.Write(&hdr, binary.LittleEndian, uint32(hlen))
	}
	hdr.WriteString(dict)
	hdr.WriteString(strings.Repeat(" ", hlen-len(dict)-1))
	hdr.WriteByte('\n')
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return err
	}
	buf := make([]byte, min(len(t.Data)*4, npyChunk))
	for off := 0; off < len(t.Data); {
		k := min(len(t.Data)-off, len(buf)/4)
		for i, v := range t.Data[off : off+k] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		if _, err := w.Write(buf[:k*4]); err != nil {
			return err
		}
		off += k
	}
	return nil
}

// WriteNPYFile writes t to path atomically: a temporary file in the same
// directory is written, synced and renamed over path, so readers never see a
// partial file.
func WriteNPYFile(path string, t *Tensor) error {
	return atomicfile.Write(path, func(w io.Writer) error { return WriteNPY(w, t) })
}
