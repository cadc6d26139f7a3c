// Command dla classifies images with DLA models: prediction, evaluation,
// benchmarks, weight conversion and raw tensor inference. Run `dla help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
)

// Exit codes, one table for every command (documented in `dla help`).
const (
	exitOK          = 0
	exitError       = 1 // the command failed (bad file, bad weights, ...)
	exitUsage       = 2 // wrong flags or arguments
	exitInterrupted = 130
)

type command struct {
	name, args, summary string
	run                 func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"models", "[--json]", "list the ten DLA variants: parameters, GMACs, input size, reported top-1", runModels},
		{"predict", "[-m MODEL] [-w WEIGHTS] [--topk 5] [--json] [--labels FILE] [--draft] IMAGE|DIR...", "top-k classes of images", runPredict},
		{"eval", "[-m MODEL] [-w WEIGHTS] --data LIST|DIR|IDX [--batch N] [--draft]", "top-1/top-5 accuracy of a labelled image set", runEval},
		{"preprocess", "IMAGE --output X.npy | IMAGE|DIR... --output-dir OUT [--mode paddle|timm] [--draft]", "write the exact input tensor the model sees (OUT/<file name>.npy per image)", runPreprocess},
		{"infer", "-m MODEL -w WEIGHTS --input X.npy --output Y.npy", "run a raw NCHW float32 tensor, write the logits", runInfer},
		{"train", "-c CONFIG.yaml [-o Key.Path=value ...]", "train or fine-tune from a PaddleClas config", runTrain},
		{"convert", "IN OUT.safetensors [-m MODEL] [--dtype f32|f16]", "convert any supported weight file to canonical safetensors", runConvert},
		{"export", "[-m MODEL] [-w WEIGHTS] -o MODEL.onnx [--opset 17] [--softmax] [--batch dynamic|N]", "write an ONNX model for ONNX Runtime, TensorRT, OpenVINO", runExport},
		{"bench", "[-m MODEL|all] [-b 1,4,8] [--size 224] [--threads N] [--json] [--profile] [--train]", "latency table on random weights (--train: training images/s)", runBench},
		{"serve", "[-m MODEL] [-w WEIGHTS]... [--http 127.0.0.1:8080] [--grpc 127.0.0.1:8081] [--max-batch 8] [--max-delay 2ms] [--max-queue 64] [--timeout 10s] [--token-env VAR]", "serve models over HTTP and gRPC (Open Inference Protocol), with a web page", runServe},
		{"version", "", "version, commit, Go version and the kernels' instruction-set tier", runVersion},
	}
}

// usageError marks errors caused by how the command was called.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printHelp(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		var ue usageError
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "dla %s: %v\nusage: dla %s %s\n", c.name, err, c.name, c.args)
			return exitUsage
		case errors.Is(err, context.Canceled):
			fmt.Fprintf(stderr, "dla %s: interrupted\n", c.name)
			return exitInterrupted
		default:
			fmt.Fprintf(stderr, "dla %s: %s\n", c.name, oneLine(err))
			return exitError
		}
	}
	fmt.Fprintf(stderr, "dla: unknown command %q (run `dla help`)\n", args[0])
	return exitUsage
}

// oneLine keeps an error to a summary line plus its details indented, never a stack.
func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "\n  ")
}

func printHelp(w io.Writer) {
	ver, rev := buildInfo()
	fmt.Fprintf(w, "dla %s (commit %s): DLA (Deep Layer Aggregation) image classification on the CPU\n", ver, rev)
	fmt.Fprintln(w, "\nusage: dla COMMAND [flags] [args]   (dla COMMAND --help for its flags)")
	fmt.Fprintln(w, "\ncommands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nexit codes: 0 success, 1 failure (bad input file, weights, image...), 2 usage error, 130 interrupted")
}

// newFlags makes a flag set whose usage text names the command.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, c := range commands() {
		if c.name == name {
			fs.Usage = func() {
				fmt.Fprintf(stderr, "usage: dla %s %s\n%s\n\nflags:\n", c.name, c.args, c.summary)
				fs.PrintDefaults()
			}
		}
	}
	return fs
}

// parse accepts flags before, between and after positional arguments
// (`dla preprocess img.jpg --output x.npy`) and returns the positionals.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
