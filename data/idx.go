package data

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/dla-go/dla/vision"
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
	br, err := gunzipped(r)
	if err != nil {
		return nil, fmt.Errorf("data: idx: %w", err)
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

// gunzipped reads r through gzip when it starts with gzip's magic bytes.
func gunzipped(r io.Reader) (*bufio.Reader, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		return bufio.NewReader(z), nil
	}
	return br, nil
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

// IDXSource is an MNIST-style dataset: an IDX file of grey images [n, h, w]
// and one of labels [n]. Each image is delivered as RGB with its grey value
// in all three channels.
type IDXSource struct {
	images, labels *IDX
	name           string // the images file's base name, for item names
}

// FashionMNISTClasses are Fashion-MNIST's ten class names, in label order.
var FashionMNISTClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// fashionLabels are the SHA-256 sums of the label bytes (after the header)
// of Fashion-MNIST's train and t10k label files. MNIST's digits share the
// file names and shapes, so the class names are given only for these exact
// label sequences.
var fashionLabels = map[string]bool{
	"657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7": true, // train, 60000
	"3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9": true, // t10k, 10000
}

// IDXLabelsPath names the labels file that goes with an images file by the
// MNIST naming: "*-images-idx3-ubyte[.gz]" -> "*-labels-idx1-ubyte[.gz]"
// (also with "." before "idx").
func IDXLabelsPath(images string) (string, error) {
	dir, base := filepath.Split(images)
	for _, sep := range []string{"-", "."} {
		from, to := "images"+sep+"idx3-ubyte", "labels"+sep+"idx1-ubyte"
		if i := strings.LastIndex(base, from); i >= 0 {
			return dir + base[:i] + to + base[i+len(from):], nil
		}
	}
	return "", fmt.Errorf("data: %s: cannot name its labels file (want a name like train-images-idx3-ubyte.gz)", images)
}

// OpenIDX opens an IDX images file and its labels (labels "" means the file
// IDXLabelsPath names). classes is FashionMNISTClasses when the labels are
// Fashion-MNIST's own, nil otherwise.
func OpenIDX(images, labels string) (src *IDXSource, classes []string, err error) {
	if labels == "" {
		if labels, err = IDXLabelsPath(images); err != nil {
			return nil, nil, err
		}
	}
	im, err := ReadIDXFile(images)
	if err != nil {
		return nil, nil, err
	}
	lb, err := ReadIDXFile(labels)
	if err != nil {
		return nil, nil, err
	}
	if len(im.Dims) != 3 || im.Dims[1] == 0 || im.Dims[2] == 0 {
		return nil, nil, fmt.Errorf("data: %s: want grey images [n, h, w], have dimensions %v", images, im.Dims)
	}
	if len(lb.Dims) != 1 || lb.Dims[0] != im.Dims[0] {
		return nil, nil, fmt.Errorf("data: %s has dimensions %v, want [%d] labels for %s", labels, lb.Dims, im.Dims[0], images)
	}
	if im.Dims[0] > MaxItems {
		return nil, nil, fmt.Errorf("data: %s has more than %d images", images, MaxItems)
	}
	sum := sha256.Sum256(lb.Data)
	if fashionLabels[hex.EncodeToString(sum[:])] && im.Dims[1] == 28 && im.Dims[2] == 28 {
		classes = append([]string(nil), FashionMNISTClasses...)
	}
	return &IDXSource{images: im, labels: lb, name: filepath.Base(images)}, classes, nil
}

// Len implements Source.
func (s *IDXSource) Len() int { return s.images.Dims[0] }

// Label implements Source.
func (s *IDXSource) Label(i int) int { return int(s.labels.Data[i]) }

// Name implements Source: the images file and the item's position.
func (s *IDXSource) Name(i int) string { return fmt.Sprintf("%s[%d]", s.name, i) }

// Image implements Source.
func (s *IDXSource) Image(i int, _ vision.Options) (*vision.RGB, error) {
	grey := s.images.Item(i)
	m := vision.NewRGB(s.images.Dims[2], s.images.Dims[1])
	for k, v := range grey {
		m.Pix[3*k], m.Pix[3*k+1], m.Pix[3*k+2] = v, v, v
	}
	return m, nil
}

// isIDX reports whether the file at path starts like an IDX file of unsigned
// bytes (gzip-compressed or not).
func isIDX(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	br, err := gunzipped(f)
	if err != nil {
		return false
	}
	hdr, err := br.Peek(4)
	return err == nil && hdr[0] == 0 && hdr[1] == 0 && hdr[2] == 0x08 && hdr[3] >= 1 && hdr[3] <= 8
}
