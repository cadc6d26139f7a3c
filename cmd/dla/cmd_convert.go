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
	meta := map[string]string{
		"architecture":  m.Variant().Name,
		"num_classes":   fmt.Sprint(m.Classes()),
		"source_format": m.Metadata()["source_format"],
		"checksum":      weights.Checksum(ts),
		"producer":      "dla-go",
	}
	if err := weights.WriteSafetensors(out, ts, meta); err != nil {
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
