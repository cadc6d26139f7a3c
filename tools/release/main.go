// Command release cross-compiles static dla binaries (CGO_ENABLED=0) for
// every supported platform, stamps the version and commit into them, writes
// SHA-256 checksums and reports each size. It first builds the WebAssembly
// module into web/wasm/static, so that every binary embeds the browser page
// with its module (web/wasm), and copies the module beside the binaries.
//
// Run from the repository: go run ./tools/release [-o dist] [-version v1.0.0]
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/dla-go/dla/internal/atomicfile"
	"github.com/dla-go/dla/web/wasm"
	"github.com/dla-go/dla/web/wasm/wasmbuild"
)

// target is one platform of the release.
type target struct{ goos, goarch, goarm string }

func (t target) String() string {
	s := t.goos + "/" + t.goarch
	if t.goarm != "" {
		s += "v" + t.goarm
	}
	return s
}

// targets are the release platforms: Linux servers and boards (arm64, and
// armv7 for 32-bit Raspberry Pi OS), macOS on both architectures, Windows.
var targets = []target{
	{"linux", "amd64", ""},
	{"linux", "arm64", ""},
	{"linux", "arm", "7"},
	{"darwin", "arm64", ""},
	{"darwin", "amd64", ""},
	{"windows", "amd64", ""},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "release: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	out := fs.String("o", "dist", "output directory")
	version := fs.String("version", "", "version to stamp (default: git describe --tags --always --dirty)")
	commit := fs.String("commit", "", "commit to stamp (default: git rev-parse HEAD)")
	only := fs.String("targets", "", "comma-separated subset of the targets, as GOOS/GOARCH (linux/arm is armv7)")
	noWasm := fs.Bool("no-wasm", false, "skip the WebAssembly module (the binaries embed whatever web/wasm/static holds)")
	wasmOnly := fs.Bool("wasm-only", false, "only build the WebAssembly module into web/wasm/static (go generate ./web/wasm)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	ts, err := selectTargets(*only)
	if err != nil {
		return err
	}
	root, err := wasmbuild.ModuleRoot(ctx)
	if err != nil {
		return err
	}
	static := filepath.Join(root, "web", "wasm", "static")
	if *wasmOnly {
		return wasmbuild.Build(ctx, static)
	}
	if *version == "" {
		if *version, err = git(ctx, root, "describe", "--tags", "--always", "--dirty"); err != nil {
			return err
		}
	}
	if *commit == "" {
		if *commit, err = git(ctx, root, "rev-parse", "HEAD"); err != nil {
			return err
		}
	}
	if *out, err = filepath.Abs(*out); err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	var files []string
	if !*noWasm {
		// The module goes into the page's directory first, so that the
		// binaries built next embed it.
		if err := wasmbuild.Build(ctx, static); err != nil {
			return err
		}
		for _, name := range []string{wasm.Module, wasm.Loader} {
			if err := copyFile(filepath.Join(*out, name), filepath.Join(static, name)); err != nil {
				return err
			}
			files = append(files, name)
		}
	}
	ldflags := fmt.Sprintf("-s -w -X main.version=%s -X main.commit=%s", *version, *commit)
	for _, t := range ts {
		name := fmt.Sprintf("dla-%s-%s", t.goos, t.goarch)
		if t.goarm != "" {
			name += "v" + t.goarm
		}
		if t.goos == "windows" {
			name += ".exe"
		}
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags,
			"-o", filepath.Join(*out, name), "./cmd/dla")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.goos, "GOARCH="+t.goarch, "GOARM="+t.goarm)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", t, err, msg)
		}
		files = append(files, name)
	}
	return writeSums(*out, files, stdout)
}

// selectTargets returns the targets named in list (all when empty).
func selectTargets(list string) ([]target, error) {
	if list == "" {
		return targets, nil
	}
	var ts []target
	for _, want := range strings.Split(list, ",") {
		found := false
		for _, t := range targets {
			if t.goos+"/"+t.goarch == strings.TrimSpace(want) {
				ts, found = append(ts, t), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown target %q", want)
		}
	}
	return ts, nil
}

// writeSums writes SHA256SUMS (sha256sum's format) for files in dir and
// prints each file's size.
func writeSums(dir string, files []string, stdout io.Writer) error {
	var sums strings.Builder
	for _, name := range files {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), name)
		fmt.Fprintf(stdout, "%-26s %10d bytes %7.2f MiB\n", name, n, float64(n)/(1<<20))
	}
	return atomicfile.Write(filepath.Join(dir, "SHA256SUMS"), func(w io.Writer) error {
		_, err := io.WriteString(w, sums.String())
		return err
	})
}

func copyFile(dst, src string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return atomicfile.Write(dst, func(w io.Writer) error { _, err := w.Write(b); return err })
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return "", fmt.Errorf("git %s: %s", strings.Join(args, " "), strings.TrimSpace(string(ee.Stderr)))
	}
	return strings.TrimSpace(string(out)), err
}
