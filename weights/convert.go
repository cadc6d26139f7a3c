package weights

import (
	"fmt"
	"strconv"
)

// Metadata keys written by Convert.
const (
	MetaArchitecture = "architecture"
	MetaNumClasses   = "num_classes"
	MetaSourceFormat = "source_format"
	MetaChecksum     = "checksum" // Checksum of the tensors
	metaFormat       = "format"   // "pt": what Hugging Face tools expect of PyTorch-layout files
)

// ConvertOptions describes the model a converted file is for.
type ConvertOptions struct {
	Arch    string // architecture name stored in the metadata, e.g. "dla34"
	Classes int    // number of classes; 0 takes it from fc.bias
	// Want, when set, binds the tensors strictly (see Bind) before writing, so
	// that only a file the model can load is ever written.
	Want     []Spec
	Bind     BindOptions
	Metadata map[string]string // extra entries (labels, preprocessing ...)
}

// Convert loads any supported weight file and writes it to out as canonical
// safetensors (float32, timm names) with metadata: architecture, num_classes,
// source_format and checksum. The output appears atomically. It returns what
// was written.
func Convert(in, out string, opt ConvertOptions) (*File, error) {
	f, err := Load(in)
	if err != nil {
		return nil, err
	}
	ts := f.Tensors
	if opt.Want != nil {
		if ts, err = Bind(opt.Want, ts, opt.Bind); err != nil {
			return nil, fmt.Errorf("%s: %w", in, err)
		}
	}
	classes := opt.Classes
	if b, ok := ts["fc.bias"]; ok {
		if len(b.Shape) != 1 {
			return nil, fmt.Errorf("%s: fc.bias has shape %v", in, b.Shape)
		}
		if classes == 0 {
			classes = b.Shape[0]
		} else if classes != b.Shape[0] {
			return nil, fmt.Errorf("%s: the file has %d classes (fc.bias), not %d", in, b.Shape[0], classes)
		}
	}
	meta := map[string]string{}
	for k, v := range opt.Metadata {
		meta[k] = v
	}
	meta[metaFormat] = "pt"
	meta[MetaSourceFormat] = f.Format
	meta[MetaChecksum] = Checksum(ts)
	if opt.Arch != "" {
		meta[MetaArchitecture] = opt.Arch
	}
	if classes > 0 {
		meta[MetaNumClasses] = strconv.Itoa(classes)
	}
	if err := WriteSafetensors(out, ts, meta); err != nil {
		return nil, err
	}
	return &File{Tensors: ts, Format: FormatSafetensors, Metadata: meta}, nil
}
