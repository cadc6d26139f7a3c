package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/dla-go/dla/train"
	"github.com/dla-go/dla/train/config"
)

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", stderr)
	cfgPath := fs.String("c", "", "PaddleClas training config (yaml)")
	var overrides multiFlag
	fs.Var(&overrides, "o", "override a config value, Key.Path=value (repeatable; PaddleClas syntax)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	// PaddleClas takes `-o A=1 B=2`: the values after one -o are overrides too.
	for _, p := range pos {
		if !strings.Contains(p, "=") {
			return usagef("unexpected argument %q", p)
		}
		overrides = append(overrides, p)
	}
	if *cfgPath == "" {
		return usagef("-c CONFIG.yaml is required")
	}
	cfg, err := config.Load(*cfgPath, overrides)
	if err != nil {
		return err
	}
	res, err := train.Run(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trained %s for %d epochs in this run (%.1f images/s); final train loss %.4f\n",
		cfg.Arch.Name, res.Epochs, res.ImagesPerS, res.FinalLoss)
	if res.BestEpoch > 0 {
		fmt.Fprintf(stdout, "best eval top-1 %.2f%% at epoch %d: %s/best_model.safetensors\n", res.BestTop1, res.BestEpoch, res.Dir)
	}
	fmt.Fprintf(stdout, "checkpoints, metrics.jsonl and curves.png in %s\n", res.Dir)
	return nil
}
