package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/dla-go/dla/internal/kernel/tier"
)

// version and commit are stamped by the release build (tools/release) with
// -ldflags "-X main.version=... -X main.commit=...". A plain go build
// leaves them empty and buildInfo falls back to what the toolchain recorded.
var version, commit string

// buildInfo returns the version and commit of this binary: the stamped
// ones, else the module version and VCS revision Go recorded, else "devel"
// and "unknown".
func buildInfo() (ver, rev string) {
	ver, rev = version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if ver == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			ver = info.Main.Version
		}
		modified := false
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && rev == "":
				rev = s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				modified = true
			}
		}
		if modified && commit == "" && rev != "" {
			rev += "-dirty"
		}
	}
	if ver == "" {
		ver = "devel"
	}
	if rev == "" {
		rev = "unknown"
	}
	return ver, rev
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	pos, err := parse(newFlags("version", stderr), args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	ver, rev := buildInfo()
	fmt.Fprintf(stdout, "dla %s\ncommit %s\n%s %s/%s\nkernels: %s\n", ver, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH, tier.String())
	return nil
}
