package tier

import (
	"strings"
	"testing"

	"github.com/dla-go/dla/internal/kernel/sgemm"
)

func TestStringNamesTheActiveSgemmVariant(t *testing.T) {
	for _, v := range sgemm.Variants() {
		restore := sgemm.UseVariant(v)
		if s := String(); !strings.HasPrefix(s, "sgemm "+v+", direct conv ") || !strings.Contains(s, ", winograd ") {
			t.Errorf("with %s: %q", v, s)
		}
		restore()
	}
}
