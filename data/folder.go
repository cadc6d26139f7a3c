package data

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ImageExtensions are the file endings ImageFolder accepts by default: the
// formats package vision decodes (compared case-insensitively).
var ImageExtensions = []string{".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"}

// ImageFolder lists a torchvision ImageFolder layout: one sub-folder per
// class, classes numbered in sorted name order, each class's images found
// recursively and ordered by (folder, file name) as torchvision's
// sorted(os.walk(...)) orders them. Files whose extension is not in exts
// (nil means ImageExtensions) are skipped. Symbolic links to folders are not
// followed.
func ImageFolder(root string, exts []string) ([]Item, []string, error) {
	if exts == nil {
		exts = ImageExtensions
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	var classes []string
	for _, e := range entries {
		if isDir(root, e) {
			classes = append(classes, e.Name())
		}
	}
	if len(classes) == 0 {
		return nil, nil, fmt.Errorf("data: %s has no class folders", root)
	}
	sort.Strings(classes)
	var items []Item
	for label, c := range classes {
		type file struct{ dir, name string }
		var files []file
		err := filepath.WalkDir(filepath.Join(root, c), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !hasExt(d.Name(), exts) {
				return nil
			}
			if len(items)+len(files) >= MaxItems {
				return fmt.Errorf("more than %d images", MaxItems)
			}
			files = append(files, file{filepath.Dir(p), d.Name()})
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("data: %s: %w", root, err)
		}
		sort.Slice(files, func(i, j int) bool {
			if files[i].dir != files[j].dir {
				return files[i].dir < files[j].dir
			}
			return files[i].name < files[j].name
		})
		for _, f := range files {
			items = append(items, Item{Path: filepath.Join(f.dir, f.name), Label: label})
		}
	}
	return items, classes, nil
}

// isDir reports whether e is a folder, following a symbolic link at the top
// level (class folders are often links into a shared store).
func isDir(root string, e fs.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	st, err := os.Stat(filepath.Join(root, e.Name()))
	return err == nil && st.IsDir()
}

func hasExt(name string, exts []string) bool {
	n := strings.ToLower(name)
	for _, e := range exts {
		if strings.HasSuffix(n, strings.ToLower(e)) {
			return true
		}
	}
	return false
}
