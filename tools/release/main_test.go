package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteSums(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"dla-linux-arm64": "arm64 binary", "dla.wasm": "module"}
	var names []string
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	var out bytes.Buffer
	if err := writeSums(dir, names, &out); err != nil {
		t.Fatal(err)
	}
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		h := sha256.Sum256([]byte(files[name]))
		if line := hex.EncodeToString(h[:]) + "  " + name + "\n"; !strings.Contains(string(sums), line) {
			t.Errorf("SHA256SUMS lacks %q:\n%s", line, sums)
		}
		if !strings.Contains(out.String(), name) {
			t.Errorf("size report lacks %s:\n%s", name, out.String())
		}
	}
}

func TestSelectTargets(t *testing.T) {
	ts, err := selectTargets("linux/arm, windows/amd64")
	if err != nil || len(ts) != 2 || ts[0].String() != "linux/armv7" || ts[1].goos != "windows" {
		t.Errorf("got %v, %v", ts, err)
	}
	if all, _ := selectTargets(""); len(all) != len(targets) {
		t.Errorf("empty list: %d targets", len(all))
	}
	if _, err := selectTargets("plan9/386"); err == nil {
		t.Error("an unknown target was accepted")
	}
}
