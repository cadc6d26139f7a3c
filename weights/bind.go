package weights

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"path"
	"sort"
	"strings"

	"github.com/dla-go/dla/tensor"
)

// Spec names one tensor a model needs and its shape.
type Spec struct {
	Name  string
	Shape []int
}

// BindOptions relaxes Bind.
type BindOptions struct {
	// AllowMissing lists path.Match patterns (e.g. "fc.*") of tensors that may
	// be absent, or present with another shape: they are left out of the result
	// and the caller keeps its own initialisation (fine-tuning a new head).
	AllowMissing []string
}

// Bind matches the tensors of a file against what a model wants. It returns
// exactly the wanted tensors, or one error that lists every missing,
// unexpected and mis-shaped tensor by name (sorted; the first line is a
// summary). Official-DLA inner-node projections (P.project.0.weight and
// P.project.1.* where P is an inner tree node: some wanted name starts with
// P+".tree1." and none with P+".root.") are unused by every implementation and
// are dropped silently, as is any BatchNorm num_batches_tracked counter.
func Bind(want []Spec, got map[string]*tensor.Tensor, opt BindOptions) (map[string]*tensor.Tensor, error) {
	for _, p := range opt.AllowMissing {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("bind: bad AllowMissing pattern %q: %w", p, err)
		}
	}
	optional := func(name string) bool {
		for _, p := range opt.AllowMissing {
			if ok, _ := path.Match(p, name); ok {
				return true
			}
		}
		return false
	}
	wanted := make(map[string]bool, len(want))
	names := make([]string, 0, len(want))
	for _, s := range want {
		wanted[s.Name] = true
		names = append(names, s.Name)
	}
	sort.Strings(names)
	ignore := map[string]bool{}
	gotNames := sortedKeys(got)
	for _, n := range innerProjectionsOf(gotNames, names) {
		ignore[n] = true
	}

	var missing, unexpected, misshaped []string
	out := make(map[string]*tensor.Tensor, len(want))
	for _, s := range want {
		t, ok := got[s.Name]
		switch {
		case !ok:
			if !optional(s.Name) {
				missing = append(missing, fmt.Sprintf("%s %s", s.Name, tensor.ShapeString(s.Shape)))
			}
		case !tensor.SameShape(t.Shape, s.Shape):
			if !optional(s.Name) {
				misshaped = append(misshaped, fmt.Sprintf("%s: file %s, model %s", s.Name,
					tensor.ShapeString(t.Shape), tensor.ShapeString(s.Shape)))
			}
		default:
			out[s.Name] = t
		}
	}
	for _, n := range gotNames {
		if !wanted[n] && !ignore[n] && !strings.HasSuffix(n, ".num_batches_tracked") {
			unexpected = append(unexpected, fmt.Sprintf("%s %s", n, tensor.ShapeString(got[n].Shape)))
		}
	}
	if len(missing)+len(unexpected)+len(misshaped) == 0 {
		return out, nil
	}
	sort.Strings(missing)
	sort.Strings(unexpected)
	sort.Strings(misshaped)
	var b strings.Builder
	fmt.Fprintf(&b, "weights do not match the model: %d missing, %d unexpected, %d mis-shaped",
		len(missing), len(unexpected), len(misshaped))
	section := func(title string, items []string) {
		if len(items) > 0 {
			fmt.Fprintf(&b, "\n%s:", title)
			for _, it := range items {
				b.WriteString("\n  " + it)
			}
		}
	}
	section("missing", missing)
	section("unexpected", unexpected)
	section("mis-shaped", misshaped)
	return nil, &BindError{Missing: missing, Unexpected: unexpected, Misshaped: misshaped, msg: b.String()}
}

// BindError is the error Bind returns; its lists are sorted and each item
// starts with the tensor name.
type BindError struct {
	Missing, Unexpected, Misshaped []string
	msg                            string
}

func (e *BindError) Error() string { return e.msg }

// innerProjectionsOf applies the inner-node rule with the tree structure taken
// from the wanted names (a file may hold anything).
func innerProjectionsOf(got, wantSorted []string) []string {
	var out []string
	for _, name := range got {
		if !isProjectionName(name) {
			continue
		}
		p := name[:strings.Index(name, ".project.")]
		if hasPrefix(wantSorted, p+".tree1.") && !hasPrefix(wantSorted, p+".root.") {
			out = append(out, name)
		}
	}
	return out
}

// Checksum is a SHA-256 (hex) over the tensors in name order: for each, the
// name, a NUL byte, the rank as uint32, each dimension as uint64, then the
// float32 data, all little-endian. Equal tensors give equal checksums whatever
// file format or name order they came from.
func Checksum(tensors map[string]*tensor.Tensor) string {
	h := sha256.New()
	buf := make([]byte, 0, 1<<16)
	for _, name := range sortedKeys(tensors) {
		t := tensors[name]
		buf = append(buf[:0], name...)
		buf = append(buf, 0)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(t.Shape)))
		for _, d := range t.Shape {
			buf = binary.LittleEndian.AppendUint64(buf, uint64(d))
		}
		for _, v := range t.Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) >= cap(buf)-4 {
				h.Write(buf)
				buf = buf[:0]
			}
		}
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}
