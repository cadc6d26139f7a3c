package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/weights"
)

func runConvert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("convert", stderr)
	model := fs.String("m", "", "model name (default: recorded in the file, or the variant whose shapes it has)")
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
	m, err := openModel(*model, in, "")
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
