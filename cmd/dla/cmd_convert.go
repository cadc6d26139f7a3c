package main

import (
	"context"

	"fmt"
	"github.com/dla-go/dla"
	"io"
	"strings"

	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/weights"
)

func runConvert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("convert", stderr)
	model := fs.String("m", "", "model name (default: recorded in the file, or the variant whose shapes it has)")
	classes := fs.Int("classes", 0, "number of classes of the output model (default: the file's)")
	dtype := fs.String("dtype", "f32", "storage of the output: f32, or f16 (half the size)")
	var allow multiFlag
	fs.Var(&allow, "allow-missing", "tensors (glob, e.g. 'fc.*') that may be missing or mis-shaped: they get fresh initial values (to fine-tune with --classes); repeatable")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("need IN and OUT.safetensors")
	}
	in, out := pos[0], pos[1]
	if !strings.HasSuffix(out, ".safetensors") {
		return usagef("the output must be a .safetensors file, got %q", out)
	}
	if *classes < 0 {
		return usagef("--classes must be positive")
	}
	st := strings.ToUpper(*dtype)
	if st != "F32" && st != "F16" {
		return usagef("--dtype must be f32 or f16, not %q", *dtype)
	}
	var opts []dla.Option
	if *classes > 0 {
		opts = append(opts, dla.WithClasses(*classes))
	}
	if len(allow) > 0 {
		opts = append(opts, dla.WithAllowMissing(allow...))
	}
	m, err := openModel(*model, in, "", opts...)
	if err != nil {
		return err
	}
	ts := map[string]*tensor.Tensor(m.Weights())
	if st == "F16" {
		if ts, err = weights.HalfPrecision(ts); err != nil {
			return err
		}
	}
	extra := map[string]string{
		dla.MetaSourceFormat: m.Metadata()[dla.MetaSourceFormat],
		dla.MetaChecksum:     weights.Checksum(ts),
	}
	if c, ok := m.Metadata()[dla.MetaTrainConfig]; ok {
		extra[dla.MetaTrainConfig] = c
	}
	meta := m.Describe(extra)
	if _, ok := m.Metadata()[dla.MetaPreprocessing]; !ok {
		delete(meta, dla.MetaPreprocessing) // the file's preprocessing is unknown: leave the default to readers
	}
	if err := weights.WriteSafetensorsAs(out, ts, meta, st); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %s, %d classes, %d tensors from %s (%s)\n", out, m.Variant().Name, m.Classes(),
		len(ts), meta["source_format"], meta["checksum"])
	return nil
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
