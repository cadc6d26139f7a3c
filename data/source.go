package data

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/dla-go/dla/vision"
)

// Source is a dataset of Len labelled images, loadable by index in any order
// and from several goroutines at once.
type Source interface {
	Len() int
	Label(i int) int
	// Name identifies item i in messages: its path, or file[i] for items
	// stored together.
	Name(i int) string
	// Image decodes item i; opt carries the decoding limits and EXIF mode.
	Image(i int, opt vision.Options) (*vision.RGB, error)
}

// Preprocessor is a Source that runs the eval pipeline on an item itself,
// from its encoded file straight into a batch slot: the same floats as
// decoding it with Image and then vision.PreprocessInto, for less work
// (vision.PreprocessFile decodes only the pixels the crop reads). The
// Loader uses it when no Transform is set.
type Preprocessor interface {
	Preprocess(dst []float32, i int, opt vision.Options) error
}

// Items is a Source of image files, as list files and image folders give.
type Items []Item

// Len implements Source.
func (s Items) Len() int { return len(s) }

// Label implements Source.
func (s Items) Label(i int) int { return s[i].Label }

// Name implements Source.
func (s Items) Name(i int) string { return s[i].Path }

// Image implements Source.
func (s Items) Image(i int, opt vision.Options) (*vision.RGB, error) {
	return vision.DecodeFile(s[i].Path, opt)
}

// Preprocess implements Preprocessor.
func (s Items) Preprocess(dst []float32, i int, opt vision.Options) error {
	return vision.PreprocessFile(dst, s[i].Path, opt)
}

// OpenDataset opens a dataset described as PaddleClas's ImageNetDataset
// describes one, extended to the other layouts:
//   - clsLabelPath a list file ("path label" per line): its paths are joined
//     to imageRoot, as PaddleClas joins them;
//   - clsLabelPath empty and imageRoot a folder: an image folder, one
//     sub-folder per class;
//   - imageRoot an IDX images file (MNIST, Fashion-MNIST): its labels are
//     clsLabelPath, or the file beside it that IDXLabelsPath names.
//
// classes are the class names when the layout gives them (folder names,
// Fashion-MNIST's), nil otherwise.
func OpenDataset(imageRoot, clsLabelPath string) (Source, []string, error) {
	if imageRoot == "" {
		return nil, nil, fmt.Errorf("data: no image root")
	}
	st, err := os.Stat(imageRoot)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	switch {
	case !st.IsDir() && isIDX(imageRoot):
		return OpenIDX(imageRoot, clsLabelPath)
	case clsLabelPath != "":
		items, err := LoadList(clsLabelPath, imageRoot)
		if err != nil {
			return nil, nil, err
		}
		return Items(items), nil, nil
	case st.IsDir():
		items, classes, err := ImageFolder(imageRoot, nil)
		if err != nil {
			return nil, nil, err
		}
		return Items(items), classes, nil
	}
	return nil, nil, fmt.Errorf("data: %s is neither a folder nor an IDX images file, and no label list names its images", imageRoot)
}

// Open opens the dataset at path as the command line names one: a folder
// (one sub-folder per class), an IDX images file (labels beside it), or a
// list file whose paths are relative to root (the list's folder when root is
// empty).
func Open(path, root string) (Source, []string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	if st.IsDir() || isIDX(path) {
		return OpenDataset(path, "")
	}
	if root == "" {
		root = filepath.Dir(path)
	}
	return OpenDataset(root, path)
}
