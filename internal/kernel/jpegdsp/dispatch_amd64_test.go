//go:build !purego

package jpegdsp

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestRequiresMatchesDispatch holds every kernel's "Requires:" line (avo's
// list of the instruction sets it uses) to what its tier's dispatch checks:
// hasAVX512 for the AVX512 kernels, cpu.X86.HasAVX2 for the AVX2 ones.
func TestRequiresMatchesDispatch(t *testing.T) {
	checked := map[string][]string{
		"AVX512": {"AVX", "AVX2", "AVX512F", "AVX512BW", "AVX512VL", "AVX512VBMI"},
		"AVX2":   {"AVX", "AVX2"},
	}
	src, err := os.ReadFile("jpegdsp_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	funcs := regexp.MustCompile(`(?m)^// func (\w+)\(.*\n// Requires: (.*)$`).FindAllStringSubmatch(string(src), -1)
	if len(funcs) != 10 {
		t.Fatalf("%d kernels with Requires lines, want 10", len(funcs))
	}
	for _, f := range funcs {
		tier := "AVX2"
		if strings.HasSuffix(f[1], "AVX512") {
			tier = "AVX512"
		}
		for _, isa := range strings.Split(f[2], ", ") {
			if !slices.Contains(checked[tier], isa) {
				t.Errorf("%s needs %s, which the %s dispatch does not check", f[1], isa, tier)
			}
		}
	}
}
