package dla

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/dla-go/dla/vision"
)

// Metadata keys of canonical weight files (safetensors __metadata__, every
// value a string). Files written by `dla convert` and by training carry them;
// files from elsewhere may lack any of them.
const (
	MetaArchitecture  = "architecture"    // arch name, e.g. "dla46_c"
	MetaClasses       = "num_classes"     // decimal
	MetaLabels        = "labels"          // JSON array of class names, index = class id
	MetaPreprocessing = "preprocessing"   // JSON of PreprocessingMeta
	MetaTrainConfig   = "training_config" // the PaddleClas-style YAML the weights were trained with
	MetaChecksum      = "checksum"
	MetaProducer      = "producer"
	MetaSourceFormat  = "source_format"
)

// PreprocessingMeta is the eval preprocessing a model expects, as recorded in
// its metadata: resize the short side, centre crop, then (x*scale-mean)/std.
// Grey images are decoded to RGB with the grey value in every channel.
type PreprocessingMeta struct {
	Mode        string     `json:"mode"` // "paddle" or "timm"
	ResizeShort int        `json:"resize_short"`
	Crop        int        `json:"crop"`
	Mean        [3]float32 `json:"mean"`
	Std         [3]float32 `json:"std"`
	Scale       float32    `json:"scale"`
}

// EncodePreprocessing renders opt as the metadata value of MetaPreprocessing,
// with every default spelled out.
func EncodePreprocessing(opt vision.Options) string {
	r := opt.Resolved()
	b, _ := json.Marshal(PreprocessingMeta{Mode: string(r.Mode), ResizeShort: r.ResizeShort, Crop: r.Crop,
		Mean: r.Mean, Std: r.Std, Scale: r.Scale})
	return string(b)
}

// DecodePreprocessing parses a MetaPreprocessing value.
func DecodePreprocessing(s string) (vision.Options, error) {
	var p PreprocessingMeta
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return vision.Options{}, fmt.Errorf("metadata %s: %w", MetaPreprocessing, err)
	}
	opt := vision.Options{Mode: vision.Mode(p.Mode), ResizeShort: p.ResizeShort, Crop: p.Crop,
		Mean: p.Mean, Std: p.Std, Scale: p.Scale}
	if err := opt.Validate(); err != nil {
		return vision.Options{}, fmt.Errorf("metadata %s: %w", MetaPreprocessing, err)
	}
	if p.ResizeShort < 1 || p.Crop < 1 || p.Crop > p.ResizeShort || p.Scale <= 0 || math.IsInf(float64(p.Scale), 0) {
		return vision.Options{}, fmt.Errorf("metadata %s: bad sizes or scale in %s", MetaPreprocessing, s)
	}
	return opt, nil
}

// EncodeLabels renders class names as the metadata value of MetaLabels.
func EncodeLabels(labels []string) string {
	b, _ := json.Marshal(labels)
	return string(b)
}

// decodeLabels parses a MetaLabels value. It returns nil when the names do
// not match classes: they describe a classifier the caller replaced
// (fine-tuning with another class count).
func decodeLabels(s string, classes int) ([]string, error) {
	var labels []string
	if err := json.Unmarshal([]byte(s), &labels); err != nil {
		return nil, fmt.Errorf("metadata %s: %w", MetaLabels, err)
	}
	if len(labels) != classes {
		return nil, nil
	}
	return labels, nil
}

// Describe returns the canonical metadata of m's weights: architecture,
// classes, labels (when known) and preprocessing, plus extra entries.
func (m *Model) Describe(extra map[string]string) map[string]string {
	meta := map[string]string{
		MetaArchitecture:  m.variant.Name,
		MetaClasses:       strconv.Itoa(m.classes),
		MetaPreprocessing: EncodePreprocessing(m.prep),
		MetaProducer:      "dla-go",
	}
	if m.labels != nil {
		meta[MetaLabels] = EncodeLabels(m.labels)
	}
	for k, v := range extra {
		meta[k] = v
	}
	return meta
}
