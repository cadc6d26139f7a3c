// Package wasmbuild builds the browser page's WebAssembly module
// (web/wasm/module, GOOS=js GOARCH=wasm) and copies Go's loader for it,
// wasm_exec.js, from the toolchain that built it: for the release tool and
// the browser test. It runs the go command, so it needs a Go toolchain and
// the repository.
package wasmbuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/dla-go/dla/internal/atomicfile"
	"github.com/dla-go/dla/web/wasm"
)

// ModuleRoot is the directory of the dla module's go.mod.
func ModuleRoot(ctx context.Context) (string, error) {
	mod, err := goEnv(ctx, "GOMOD")
	if err != nil {
		return "", err
	}
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the dla module (go env GOMOD is empty)")
	}
	return filepath.Dir(mod), nil
}

// Build writes wasm.Module and wasm.Loader into dir, each atomically.
func Build(ctx context.Context, dir string) error {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".dla-*.wasm")
	if err != nil {
		return err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", tmp.Name(), "./web/wasm/module")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the wasm module: %v\n%s", err, out)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, wasm.Module)); err != nil {
		return err
	}
	goroot, err := goEnv(ctx, "GOROOT")
	if err != nil {
		return err
	}
	// Go 1.24 moved the loader from misc/wasm to lib/wasm.
	var js []byte
	for _, sub := range []string{"lib/wasm", "misc/wasm"} {
		if js, err = os.ReadFile(filepath.Join(goroot, sub, wasm.Loader)); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("%s not found in %s: %w", wasm.Loader, goroot, err)
	}
	return atomicfile.Write(filepath.Join(dir, wasm.Loader), func(w io.Writer) error { _, err := w.Write(js); return err })
}

// Site writes the whole page into dir: the files of wasm.Files() and a
// freshly built module and loader.
func Site(ctx context.Context, dir string) error {
	if err := Build(ctx, dir); err != nil {
		return err
	}
	entries, err := fs.ReadDir(wasm.Files(), ".")
	if err != nil {
		return err
	}
	for _, e := range entries {
		if name := e.Name(); name != wasm.Module && name != wasm.Loader {
			b, err := fs.ReadFile(wasm.Files(), name)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

func goEnv(ctx context.Context, name string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", name).Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}
