package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/dla-go/dla/arch"
)

func runModels(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("models", stderr)
	asJSON := fs.Bool("json", false, "one JSON object per line")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "%-9s %-9s %12s %7s %6s %12s %10s\n", "model", "paddle", "params", "GMACs", "input", "top1 paddle", "top1 timm")
	}
	enc := json.NewEncoder(stdout)
	for _, v := range arch.Variants {
		if *asJSON {
			if err := enc.Encode(map[string]any{
				"model": v.Name, "paddle_name": v.PaddleName, "params": v.Params, "gmacs": v.GMACs,
				"input_size": []int{3, 224, 224}, "top1_paddle": v.PaddleTop1, "top1_timm": v.TimmTop1,
				"levels": v.Levels, "channels": v.Channels, "cardinality": v.Cardinality,
				"residual_root": v.ResidualRoot,
			}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(stdout, "%-9s %-9s %12s %7.3f %6s %12.2f %10.2f\n", v.Name, v.PaddleName,
			groupDigits(v.Params), v.GMACs, "224", v.PaddleTop1, v.TimmTop1)
	}
	return nil
}

// groupDigits writes 15742104 as 15,742,104.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	out := ""
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out += ","
		}
		out += string(r)
	}
	return out
}
