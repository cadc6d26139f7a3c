package config

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// reader collects the errors and notices of one typed read of a config tree.
type reader struct {
	errs    []error
	notices []string
}

const maxErrors = 20

func (r *reader) errorf(path, format string, args ...any) {
	if len(r.errs) < maxErrors {
		r.errs = append(r.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
}

func (r *reader) notef(format string, args ...any) {
	r.notices = append(r.notices, fmt.Sprintf(format, args...))
}

// section reads one mapping. Each getter names a key the section knows;
// done reports every key present that no getter named.
type section struct {
	r     *reader
	path  string
	v     *value // nil when the section is absent
	known map[string]bool
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// section opens the mapping v (nil when absent) found at path.
func (r *reader) section(path string, v *value) *section {
	s := &section{r: r, path: path, known: map[string]bool{}}
	switch {
	case v == nil:
	case v.k != kMap:
		r.errorf(path, "want a mapping, have %s", v.describe())
	default:
		s.v = v
	}
	return s
}

// get returns the key's value, nil when absent. A null value counts as
// present.
func (s *section) get(key string) *value {
	s.known[key] = true
	if s.v == nil {
		return nil
	}
	return s.v.get(key)
}

// sub opens the mapping under key.
func (s *section) sub(key string) *section {
	return s.r.section(join(s.path, key), s.get(key))
}

// need reports a required key that is absent or null. In a section that is
// itself absent or not a mapping (reported already) it only answers.
func (s *section) need(key string) bool {
	if v := s.get(key); v == nil || v.k == kNull {
		if s.v != nil || s.path == "" {
			s.r.errorf(join(s.path, key), "required")
		}
		return false
	}
	return true
}

func (s *section) int(key string, def int) int {
	v := s.get(key)
	if v == nil {
		return def
	}
	if v.k != kInt || v.i > math.MaxInt32 || v.i < math.MinInt32 {
		s.r.errorf(join(s.path, key), "want an integer, have %s", v.describe())
		return def
	}
	return int(v.i)
}

// intRange is int with bounds.
func (s *section) intRange(key string, def, lo, hi int) int {
	n := s.int(key, def)
	if n < lo || n > hi {
		s.r.errorf(join(s.path, key), "%d is outside %d..%d", n, lo, hi)
		return def
	}
	return n
}

func number(v *value) (float64, bool) {
	switch v.k {
	case kInt:
		return float64(v.i), true
	case kFloat:
		return v.f, !math.IsInf(v.f, 0) && !math.IsNaN(v.f)
	}
	return 0, false
}

func (s *section) float(key string, def float64) float64 {
	v := s.get(key)
	if v == nil {
		return def
	}
	f, ok := number(v)
	if !ok {
		s.r.errorf(join(s.path, key), "want a number, have %s%s", v.describe(), yaml11Hint(v))
		return def
	}
	return f
}

// yaml11Hint explains a string that YAML 1.2 would have read as a number.
func yaml11Hint(v *value) string {
	if v.k == kStr {
		if x, ok := literalEval(v.s); ok && (x.k == kFloat || x.k == kInt) {
			return " (YAML 1.1 reads a float without a dot, like 1e-4, as a string inside a list: write 0.0001 or 1.0e-4)"
		}
	}
	return ""
}

func (s *section) bool(key string, def bool) bool {
	v := s.get(key)
	if v == nil {
		return def
	}
	if v.k != kBool {
		s.r.errorf(join(s.path, key), "want True or False, have %s", v.describe())
		return def
	}
	return v.b
}

// str reads a string; null gives "" when nullable.
func (s *section) str(key string, def string, nullable bool) string {
	v := s.get(key)
	if v == nil {
		return def
	}
	if v.k == kNull && nullable {
		return ""
	}
	if v.k != kStr {
		s.r.errorf(join(s.path, key), "want a string, have %s", v.describe())
		return def
	}
	return v.s
}

// list reads a list of n items (any length when n < 0) with each.
func (s *section) list(key string, n int, each func(path string, v *value)) bool {
	v := s.get(key)
	if v == nil {
		return false
	}
	path := join(s.path, key)
	if v.k != kList || n >= 0 && len(v.list) != n {
		want := "a list"
		if n >= 0 {
			want = fmt.Sprintf("a list of %d", n)
		}
		s.r.errorf(path, "want %s, have %s", want, v.describe())
		return false
	}
	for i, x := range v.list {
		each(join(path, fmt.Sprint(i)), x)
	}
	return true
}

func (s *section) ints(key string, n int) []int {
	var out []int
	s.list(key, n, func(path string, v *value) {
		if v.k != kInt || v.i > math.MaxInt32 || v.i < math.MinInt32 {
			s.r.errorf(path, "want an integer, have %s", v.describe())
			return
		}
		out = append(out, int(v.i))
	})
	return out
}

func (s *section) floats(key string, n int) []float64 {
	var out []float64
	s.list(key, n, func(path string, v *value) {
		f, ok := number(v)
		if !ok {
			s.r.errorf(path, "want a number, have %s%s", v.describe(), yaml11Hint(v))
			return
		}
		out = append(out, f)
	})
	return out
}

// noop accepts key only with a value that changes nothing here.
func (s *section) noop(key string, ok func(*value) bool, what string) {
	if v := s.get(key); v != nil && !ok(v) {
		s.r.errorf(join(s.path, key), "%s is not supported (accepted: %s)", v.describe(), what)
	}
}

func isFalse(v *value) bool { return v.k == kBool && !v.b || v.k == kNull }
func isTrue(v *value) bool  { return v.k == kBool && v.b }
func isBool(v *value) bool  { return v.k == kBool }
func anyValue(*value) bool  { return true }
func isInt(n int64) func(*value) bool {
	return func(v *value) bool { return v.k == kInt && v.i == n }
}
func isStr(s ...string) func(*value) bool {
	return func(v *value) bool {
		for _, x := range s {
			if v.k == kStr && strings.EqualFold(v.s, x) {
				return true
			}
		}
		return false
	}
}

// unsupported rejects keys PaddleClas configs use that this project does not
// implement, present with any value.
func (s *section) unsupported(why string, keys ...string) {
	for _, k := range keys {
		if s.get(k) != nil {
			s.r.errorf(join(s.path, k), "not supported (%s)", why)
		}
	}
}

// done reports the keys present that the section does not know.
func (s *section) done() {
	if s.v == nil {
		return
	}
	for _, e := range s.v.m {
		if s.known[e.key] {
			continue
		}
		hint := ""
		if near := nearest(e.key, s.known); near != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", near)
		}
		s.r.errorf(join(s.path, e.key), "unknown key%s", hint)
	}
}

// nearest is the known key closest to key, if it is close: at most a third
// of its letters differ, case aside.
func nearest(key string, known map[string]bool) string {
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, k)
	}
	sort.Strings(names)
	best, bestD := "", len(key)/3+1
	for _, k := range names {
		if d := editDistance(strings.ToLower(key), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
