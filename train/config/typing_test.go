package config

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Fixtures from testdata/config/gen.py (PyYAML 6, CPython's ast and eval).

const fixtureDir = "../../testdata/config"

// pyValue is gen.py's typed JSON form of a Python value.
type pyValue struct {
	T string          `json:"t"`
	V json.RawMessage `json:"v"`
}

// equal reports whether v is the Python value p.
func (p pyValue) equal(t *testing.T, v *value) bool {
	t.Helper()
	switch p.T {
	case "none":
		return v.k == kNull
	case "bool":
		var b bool
		json.Unmarshal(p.V, &b)
		return v.k == kBool && v.b == b
	case "int":
		var s string
		json.Unmarshal(p.V, &s)
		i, err := strconv.ParseInt(s, 10, 64)
		return err == nil && v.k == kInt && v.i == i
	case "float":
		var s string
		json.Unmarshal(p.V, &s)
		f, err := strconv.ParseFloat(s, 64)
		if s == "inf" || s == "-inf" || s == "nan" {
			f, err = map[string]float64{"inf": math.Inf(1), "-inf": math.Inf(-1), "nan": math.NaN()}[s], nil
		}
		return err == nil && v.k == kFloat && (v.f == f && math.Signbit(v.f) == math.Signbit(f) || f != f && v.f != v.f)
	case "str":
		var s string
		json.Unmarshal(p.V, &s)
		return v.k == kStr && v.s == s
	case "list":
		var items []pyValue
		json.Unmarshal(p.V, &items)
		if v.k != kList || len(v.list) != len(items) {
			return false
		}
		for i := range items {
			if !items[i].equal(t, v.list[i]) {
				return false
			}
		}
		return true
	case "map":
		var pairs [][2]json.RawMessage
		json.Unmarshal(p.V, &pairs)
		if v.k != kMap || len(v.m) != len(pairs) {
			return false
		}
		for i, kv := range pairs {
			var key string
			var val pyValue
			json.Unmarshal(kv[0], &key)
			json.Unmarshal(kv[1], &val)
			if v.m[i].key != key || !val.equal(t, v.m[i].val) {
				return false
			}
		}
		return true
	}
	t.Fatalf("no comparison for Python type %s", p.T)
	return false
}

// bigInt reports a Python int beyond 64 bits, which a config cannot hold.
func (p pyValue) bigInt() bool {
	var s string
	json.Unmarshal(p.V, &s)
	_, err := strconv.ParseInt(s, 10, 64)
	return p.T == "int" && err != nil
}

func loadTyping(t *testing.T) (yamlCases []struct {
	Src       string
	Map, List pyValue
}, evalCases []struct {
	Src                    string
	Literal, Eval, Str2num pyValue
}) {
	b, err := os.ReadFile(fixtureDir + "/typing.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		YAML []struct {
			Src       string
			Map, List pyValue
		}
		Eval []struct {
			Src                    string
			Literal, Eval, Str2num pyValue
		}
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.YAML, f.Eval
}

// TestYAMLTyping reads each scalar as a mapping value and as a list item
// and compares with what PaddleClas's loader makes of it.
func TestYAMLTyping(t *testing.T) {
	cases, _ := loadTyping(t)
	for _, c := range cases {
		tree, err := parseYAML([]byte("a: " + c.Src + "\nb:\n  - " + c.Src + "\n"))
		if c.Map.bigInt() {
			if err == nil {
				t.Errorf("%q: integer beyond 64 bits accepted", c.Src)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.Src, err)
			continue
		}
		for _, k := range []struct {
			where string
			want  pyValue
			got   *value
		}{{"mapping", c.Map, tree.get("a")}, {"list", c.List, tree.get("b").list[0]}} {
			ok := false
			switch k.want.T {
			case "other": // a date, or a complex literal_eval gives (kept as the string here)
				ok = k.got.k == kDate || k.got.k == kStr
			default:
				ok = k.want.equal(t, k.got)
			}
			if !ok {
				t.Errorf("%q as a %s value: have %s (kind %d), PaddleClas has %s %s", c.Src, k.where, k.got.describe(), k.got.k, k.want.T, k.want.V)
			}
		}
	}
}

// TestPythonEval compares literal_eval and str2num (eval, else the string)
// with CPython's.
func TestPythonEval(t *testing.T) {
	_, cases := loadTyping(t)
	for _, c := range cases {
		lit, ok := literalEval(c.Src)
		switch {
		case c.Literal.T == "error" || c.Literal.T == "other":
			if ok {
				t.Errorf("literal_eval(%q) = %s, Python raises or makes a %s", c.Src, lit.describe(), c.Literal.V)
			}
		case c.Literal.bigInt():
			if ok {
				t.Errorf("literal_eval(%q): integer beyond 64 bits accepted", c.Src)
			}
		case !ok || !c.Literal.equal(t, lit):
			t.Errorf("literal_eval(%q) = %v %v, want %s %s", c.Src, ok, lit, c.Literal.T, c.Literal.V)
		}
		got, err := evalOrString(c.Src)
		switch {
		case c.Str2num.bigInt():
			if !errors.Is(err, errRange) {
				t.Errorf("str2num(%q): integer beyond 64 bits: err = %v", c.Src, err)
			}
		case err != nil:
			t.Errorf("str2num(%q): %v", c.Src, err)
		case c.Str2num.T == "other":
			// Sets, bytes and complex numbers are kept as their text.
			if got.k != kStr || got.s != c.Src {
				t.Errorf("str2num(%q) = %s, want the text kept", c.Src, got.describe())
			}
		case !c.Str2num.equal(t, got):
			t.Errorf("str2num(%q) = %s, want %s %s", c.Src, got.describe(), c.Str2num.T, c.Str2num.V)
		}
	}
}

// TestPythonEvalNesting: CPython refuses deep nesting (too many nested
// parentheses), and so does pyEval, without deep recursion.
func TestPythonEvalNesting(t *testing.T) {
	for _, s := range []string{strings.Repeat("[", 100000) + strings.Repeat("]", 100000), strings.Repeat("-", 100000) + "1"} {
		if v, err := evalOrString(s); err != nil || v.k != kStr {
			t.Errorf("%.10s...: %v %v", s, v, err)
		}
	}
	if v, err := evalOrString(strings.Repeat("[", 50) + strings.Repeat("]", 50)); err != nil || v.k != kList {
		t.Errorf("50 nested lists: %v %v", v, err)
	}
}

func FuzzPythonEval(f *testing.F) {
	for _, s := range []string{"1.0/255.0", "[30, 60, 90]", "{'a': (1, -2.5e-3)}", "'\\x41' r'b'", "2**-1//3", "-7%-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := evalOrString(s)
		if err == nil && v == nil {
			t.Fatal("no value and no error")
		}
		literalEval(s)
	})
}
