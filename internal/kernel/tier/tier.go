// Package tier reports the instruction-set tier each kernel family
// dispatched to on this CPU, for `dla version` and `dla bench`.
package tier

import (
	"fmt"

	"github.com/dla-go/dla/internal/kernel/conv"
	"github.com/dla-go/dla/internal/kernel/sgemm"
	"github.com/dla-go/dla/internal/kernel/winograd"
)

// String is one line naming each family's tier, such as
// "sgemm avx512, direct conv avx512, winograd avx512".
func String() string {
	return fmt.Sprintf("sgemm %s, direct conv %s, winograd %s", sgemm.Active(), conv.Tier(), winograd.Tier())
}
