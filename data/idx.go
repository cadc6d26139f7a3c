package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// FashionMNISTDir is where Debian's dataset-fashion-mnist package installs
// train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz and the t10k pair.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// MaxIDXBytes caps the data an IDX file may declare (MNIST train images are
// 47 MB).
const MaxIDXBytes = 1 << 30

// IDX is an unsigned-byte IDX array (the MNIST / Fashion-MNIST format):
// Dims[0] items of Dims[1:] each, row-major.
type IDX struct {
	Dims []int
	Data []uint8
}

// ReadIDX reads an IDX file of unsigned bytes (type 0x08), gzip-compressed
// or not. Memory grows with the bytes actually read, so a header that claims
// more than the file holds fails without a large allocation.
func ReadIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("data: idx: %w", err)
		}
		defer z.Close()
		br = bufio.NewReader(z)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, fmt.Errorf("data: idx header: %w", err)
	}
	if hdr[0] != 0 || hdr[1] != 0 {
		return nil, errors.New("data: not an IDX file (bad magic)")
	}
	if hdr[2] != 0x08 {
		return nil, fmt.Errorf("data: idx element type 0x%02x not supported (only unsigned bytes, 0x08)", hdr[2])
	}
	nd := int(hdr[3])
	if nd == 0 || nd > 8 {
		return nil, fmt.Errorf("data: idx has %d dimensions", nd)
	}
	dims := make([]int, nd)
	total := int64(1)
	for i := range dims {
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fmt.Errorf("data: idx dimensions: %w", err)
		}
		d := int64(binary.BigEndian.Uint32(b[:]))
		if d != 0 && total > MaxIDXBytes/d {
			return nil, fmt.Errorf("data: idx shape is larger than %d bytes", MaxIDXBytes)
		}
		total *= d
		dims[i] = int(d)
	}
	buf := make([]byte, 0, min(total, 1<<20))
	for int64(len(buf)) < total {
		n := min(total-int64(len(buf)), 1<<20)
		start := len(buf)
		buf = append(buf, make([]byte, n)...)
		if _, err := io.ReadFull(br, buf[start:]); err != nil {
			return nil, fmt.Errorf("data: idx data (%d of %d bytes): %w", start, total, err)
		}
	}
	return &IDX{Dims: dims, Data: buf}, nil
}

// ReadIDXFile reads an IDX file from disk.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	m, err := ReadIDX(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Item returns the i-th item (all dimensions after the first).
func (m *IDX) Item(i int) []uint8 {
	n := 1
	for _, d := range m.Dims[1:] {
		n *= d
	}
	return m.Data[i*n : (i+1)*n]
}

// FashionMNIST reads the training (60000) or test (10000) split from dir
// (FashionMNISTDir when empty): images [n, 28, 28] and labels [n] in 0..9.
func FashionMNIST(dir string, train bool) (images, labels *IDX, err error) {
	if dir == "" {
		dir = FashionMNISTDir
	}
	prefix := "t10k"
	if train {
		prefix = "train"
	}
	if images, err = ReadIDXFile(filepath.Join(dir, prefix+"-images-idx3-ubyte.gz")); err != nil {
		return nil, nil, err
	}
	if labels, err = ReadIDXFile(filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz")); err != nil {
		return nil, nil, err
	}
	if len(images.Dims) != 3 || len(labels.Dims) != 1 || images.Dims[0] != labels.Dims[0] {
		return nil, nil, fmt.Errorf("data: %s: images %v and labels %v do not pair", dir, images.Dims, labels.Dims)
	}
	for _, l := range labels.Data {
		if l > 9 {
			return nil, nil, fmt.Errorf("data: %s: label %d outside 0..9", dir, l)
		}
	}
	return images, labels, nil
}
