//go:build !purego

package sgemm

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestRequiresMatchesDispatch checks that every assembly function uses only
// instruction sets its tier's dispatch condition checks for.
func TestRequiresMatchesDispatch(t *testing.T) {
	src, err := os.ReadFile("micro_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^// func (\w+)\(.*\n// Requires: (.*)$`)
	funcs := re.FindAllStringSubmatch(string(src), -1)
	if len(funcs) == 0 {
		t.Fatal("no Requires lines found")
	}
	for _, f := range funcs {
		name, needs := f[1], strings.Split(f[2], ", ")
		tier := ""
		for suffix := range tierISA {
			if strings.HasSuffix(name, suffix) && len(suffix) > len(tier) {
				tier = suffix
			}
		}
		if tier == "" {
			// Without a tier, only what every amd64 CPU has.
			for _, isa := range needs {
				if isa != "CPUID" {
					t.Errorf("%s needs %s but has no tier suffix", name, isa)
				}
			}
			continue
		}
		for _, isa := range needs {
			if !slices.Contains(tierISA[tier], isa) {
				t.Errorf("%s needs %s, which the %s dispatch does not check", name, isa, tier)
			}
		}
	}
}
