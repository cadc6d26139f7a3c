// Command synthweights writes a model's synthetic weights (the ones `dla
// bench` runs) as a safetensors file, for timing `dla predict` and `dla
// eval` without real weights: go run ./bench/synthweights -m dla34 -o W.safetensors
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/weights"
)

func main() {
	model := flag.String("m", "dla34", "model name")
	out := flag.String("o", "", "output .safetensors")
	flag.Parse()
	if err := write(*model, *out); err != nil {
		fmt.Fprintln(os.Stderr, "synthweights:", err)
		os.Exit(1)
	}
}

func write(model, out string) error {
	if out == "" {
		return fmt.Errorf("-o is required")
	}
	v, err := arch.Lookup(model)
	if err != nil {
		return err
	}
	g, err := v.Build(1000, 224, 224)
	if err != nil {
		return err
	}
	return weights.WriteSafetensors(out, arch.SyntheticWeights(g, 1), map[string]string{"architecture": v.Name})
}
