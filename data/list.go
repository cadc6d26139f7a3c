// Package data reads datasets for evaluation and training: PaddleClas list
// files, torchvision-style image folders, class-name files, MNIST-style IDX
// files, and a parallel loader that turns image items into batches.
package data

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
)

// Limits on list files, which may come from anywhere.
const (
	MaxLineBytes = 64 << 10 // one line
	MaxItems     = 50 << 20 // lines in one list (ImageNet train has 1.28M)
	MaxLabel     = 1 << 24  // largest class id accepted
)

// Item is one labelled image.
type Item struct {
	Path  string
	Label int
}

// ReadList parses a PaddleClas list file: "relative/path.jpg label" per line.
// The label follows the last run of whitespace, so paths may contain spaces.
// Relative paths are joined to root (absolute ones kept, as os.path.join
// does). Blank lines are skipped; any other malformed line is an error that
// names its line number.
func ReadList(r io.Reader, root string) ([]Item, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLineBytes)
	var items []Item
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		i := strings.LastIndexFunc(s, unicode.IsSpace)
		if i < 0 {
			return nil, fmt.Errorf("data: list line %d: want \"path label\", have %q", line, clip(s))
		}
		path, lab := strings.TrimRightFunc(s[:i], unicode.IsSpace), s[i+1:]
		label, err := strconv.Atoi(lab)
		if err != nil || label < 0 || label > MaxLabel {
			return nil, fmt.Errorf("data: list line %d: label %q is not an integer in [0, %d]", line, clip(lab), MaxLabel)
		}
		if len(items) == MaxItems {
			return nil, fmt.Errorf("data: list has more than %d items", MaxItems)
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		items = append(items, Item{Path: path, Label: label})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("data: list line %d is longer than %d bytes", line+1, MaxLineBytes)
		}
		return nil, fmt.Errorf("data: read list: %w", err)
	}
	return items, nil
}

// LoadList reads a list file; an empty root means the list file's folder.
func LoadList(path, root string) ([]Item, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	if root == "" {
		root = filepath.Dir(path)
	}
	items, err := ReadList(f, root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return items, nil
}

// clip shortens text quoted in an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
