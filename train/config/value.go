package config

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A config is first read into a tree of Python-like values, typed as
// PaddleClas's loader types them (PyYAML's SafeLoader, YAML 1.1, then
// ast.literal_eval on the strings of mappings), so that overrides apply to
// the same tree PaddleClas overrides before anything is checked.

type kind int

const (
	kNull kind = iota
	kBool
	kInt
	kFloat
	kStr
	kList
	kMap
	kDate // a YAML 1.1 timestamp, which PyYAML turns into a date object
)

type value struct {
	k    kind
	b    bool
	i    int64
	f    float64
	s    string // kStr, and kDate's text
	list []*value
	m    []entry // kMap, in file order
}

type entry struct {
	key string
	val *value
}

func (v *value) get(key string) *value {
	for _, e := range v.m {
		if e.key == key {
			return e.val
		}
	}
	return nil
}

func (v *value) set(key string, x *value) {
	for i, e := range v.m {
		if e.key == key {
			v.m[i].val = x
			return
		}
	}
	v.m = append(v.m, entry{key, x})
}

// describe names a value in error messages, as Python would print it.
func (v *value) describe() string {
	switch v.k {
	case kNull:
		return "None"
	case kBool:
		if v.b {
			return "True"
		}
		return "False"
	case kInt:
		return strconv.FormatInt(v.i, 10)
	case kFloat:
		return formatFloat(v.f)
	case kStr:
		return strconv.Quote(v.s)
	case kDate:
		return "the date " + v.s
	case kList:
		parts := make([]string, len(v.list))
		for i, x := range v.list {
			parts[i] = x.describe()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	keys := make([]string, len(v.m))
	for i, e := range v.m {
		keys[i] = e.key
	}
	return "a mapping of " + strings.Join(keys, ", ")
}

// Limits on config files, which may come from anywhere.
const (
	maxConfigBytes = 1 << 20
	maxNodes       = 100000 // values after expanding aliases
	maxDepth       = 64
)

// parseYAML reads src as PyYAML's SafeLoader would, then applies
// PaddleClas's literal_eval pass.
func parseYAML(src []byte) (*value, error) {
	if len(src) > maxConfigBytes {
		return nil, fmt.Errorf("config is larger than %d bytes", maxConfigBytes)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("config is empty")
	}
	budget := maxNodes
	v, err := fromNode(doc.Content[0], 0, &budget)
	if err != nil {
		return nil, err
	}
	if v.k != kMap {
		return nil, fmt.Errorf("config is %s, want a mapping of sections", v.describe())
	}
	literalEvalStrings(v)
	return v, nil
}

func fromNode(n *yaml.Node, depth int, budget *int) (*value, error) {
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("config has more than %d values", maxNodes)
	}
	if depth > maxDepth {
		return nil, fmt.Errorf("line %d: config nests deeper than %d", n.Line, maxDepth)
	}
	switch n.Kind {
	case yaml.AliasNode:
		return fromNode(n.Alias, depth+1, budget)
	case yaml.ScalarNode:
		v, err := scalar(n)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	case yaml.SequenceNode:
		v := &value{k: kList}
		for _, c := range n.Content {
			x, err := fromNode(c, depth+1, budget)
			if err != nil {
				return nil, err
			}
			v.list = append(v.list, x)
		}
		return v, nil
	case yaml.MappingNode:
		v := &value{k: kMap}
		lines := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn := n.Content[i]
			if kn.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a mapping key must be a plain name", kn.Line)
			}
			if kn.Value == "<<" && kn.Style == 0 {
				return nil, fmt.Errorf("line %d: merge keys (<<) are not supported", kn.Line)
			}
			if l, dup := lines[kn.Value]; dup {
				return nil, fmt.Errorf("line %d: key %q is already defined on line %d", kn.Line, kn.Value, l)
			}
			lines[kn.Value] = kn.Line
			x, err := fromNode(n.Content[i+1], depth+1, budget)
			if err != nil {
				return nil, err
			}
			v.m = append(v.m, entry{kn.Value, x})
		}
		return v, nil
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

// PyYAML's implicit resolvers (YAML 1.1), which differ from YAML 1.2's:
// "yes"/"on" are booleans, "010" is octal, and a float needs a dot, so
// "1e-4" is a string (which literal_eval may then turn into a float).
var (
	reBool  = regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	reInt   = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	reFloat = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
	reNull  = regexp.MustCompile(`^(?:~|null|Null|NULL|)$`)
	reDate  = regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`)
)

// resolvePlain types an untagged plain scalar.
func resolvePlain(s string) (*value, error) {
	switch {
	case reNull.MatchString(s):
		return &value{k: kNull}, nil
	case reBool.MatchString(s):
		c := s[0] | 0x20
		return &value{k: kBool, b: c == 'y' || c == 't' || strings.EqualFold(s, "on")}, nil
	case reInt.MatchString(s):
		return yamlInt(s)
	case reFloat.MatchString(s):
		return yamlFloat(s)
	case reDate.MatchString(s):
		return &value{k: kDate, s: s}, nil
	}
	return &value{k: kStr, s: s}, nil
}

func scalar(n *yaml.Node) (*value, error) {
	if n.Style&yaml.TaggedStyle != 0 {
		switch n.ShortTag() {
		case "!!str":
			return &value{k: kStr, s: n.Value}, nil
		case "!!int":
			return yamlInt(n.Value)
		case "!!float":
			return yamlFloat(n.Value)
		case "!!bool", "!!null":
			v, err := resolvePlain(n.Value)
			if err != nil || (n.ShortTag() == "!!bool") != (v.k == kBool) || (n.ShortTag() == "!!null") != (v.k == kNull) {
				return nil, fmt.Errorf("%q is not a %s", n.Value, n.ShortTag())
			}
			return v, nil
		}
		return nil, fmt.Errorf("tag %s is not supported", n.Tag)
	}
	if n.Style != 0 { // quoted, literal or folded
		return &value{k: kStr, s: n.Value}, nil
	}
	return resolvePlain(n.Value)
}

// yamlInt is PyYAML's construct_yaml_int: underscores dropped, then 0b, 0x,
// a leading 0 (octal) or base-60 parts.
func yamlInt(s string) (*value, error) {
	t := strings.ReplaceAll(s, "_", "")
	neg := false
	if t != "" && (t[0] == '-' || t[0] == '+') {
		neg, t = t[0] == '-', t[1:]
	}
	var u uint64
	var err error
	switch {
	case t == "0":
	case strings.HasPrefix(t, "0b"):
		u, err = strconv.ParseUint(t[2:], 2, 63)
	case strings.HasPrefix(t, "0x"):
		u, err = strconv.ParseUint(t[2:], 16, 63)
	case strings.HasPrefix(t, "0"):
		u, err = strconv.ParseUint(t[1:], 8, 63)
	case strings.Contains(t, ":"):
		for _, part := range strings.Split(t, ":") {
			d, e := strconv.ParseUint(part, 10, 63)
			if e != nil || u > math.MaxInt64/60 {
				return nil, fmt.Errorf("integer %s is out of range", s)
			}
			u = u*60 + d
		}
	default:
		u, err = strconv.ParseUint(t, 10, 63)
	}
	if err != nil {
		return nil, fmt.Errorf("integer %s is out of range", s)
	}
	i := int64(u)
	if neg {
		i = -i
	}
	return &value{k: kInt, i: i}, nil
}

// yamlFloat is PyYAML's construct_yaml_float.
func yamlFloat(s string) (*value, error) {
	t := strings.ToLower(strings.ReplaceAll(s, "_", ""))
	sign := 1.0
	if t != "" && (t[0] == '-' || t[0] == '+') {
		if t[0] == '-' {
			sign = -1
		}
		t = t[1:]
	}
	switch {
	case t == ".inf":
		return &value{k: kFloat, f: sign * math.Inf(1)}, nil
	case t == ".nan":
		return &value{k: kFloat, f: math.NaN()}, nil
	case strings.Contains(t, ":"):
		f := 0.0
		for _, part := range strings.Split(t, ":") {
			d, err := strconv.ParseFloat(part, 64)
			if err != nil {
				return nil, fmt.Errorf("float %s: %w", s, err)
			}
			f = f*60 + d
		}
		return &value{k: kFloat, f: sign * f}, nil
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return nil, fmt.Errorf("float %s is not a number", s)
	}
	return &value{k: kFloat, f: sign * f}, nil
}

// literalEvalStrings is PaddleClas's create_attr_dict: every string held
// directly by a mapping (not inside a list) that ast.literal_eval accepts is
// replaced by the result, in mappings nested in mappings too.
func literalEvalStrings(v *value) {
	for i, e := range v.m {
		switch e.val.k {
		case kMap:
			literalEvalStrings(e.val)
		case kStr:
			if x, ok := literalEval(e.val.s); ok {
				v.m[i].val = x
			}
		}
	}
}

// formatFloat writes f as Python's repr does: the shortest digits that read
// back to f, fixed-point for exponents from -4 to 15, scientific otherwise.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f != f:
		return "nan"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(s[strings.IndexByte(s, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return s
	}
	s = strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// yamlFloatText writes f so that PyYAML reads it back as the same float: its
// resolver wants a dot before any exponent ("1.0e-05", not "1e-05").
func yamlFloatText(f float64) string {
	s := formatFloat(f)
	switch s {
	case "inf":
		return ".inf"
	case "-inf":
		return "-.inf"
	case "nan":
		return ".nan"
	}
	if e := strings.IndexByte(s, 'e'); e >= 0 && !strings.Contains(s[:e], ".") {
		s = s[:e] + ".0" + s[e:]
	}
	return s
}

// toYAML renders the tree as YAML that PaddleClas and Parse read back to the
// same values.
func toYAML(v *value) ([]byte, error) {
	return yaml.Marshal(toNode(v))
}

func toNode(v *value) *yaml.Node {
	scalar := func(tag, s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: s} }
	switch v.k {
	case kNull:
		return scalar("!!null", "null")
	case kBool:
		return scalar("!!bool", strconv.FormatBool(v.b))
	case kInt:
		return scalar("!!int", strconv.FormatInt(v.i, 10))
	case kFloat:
		return scalar("!!float", yamlFloatText(v.f))
	case kDate:
		return scalar("!!timestamp", v.s)
	case kStr:
		n := scalar("!!str", v.s)
		// Quote what PyYAML would otherwise read as another type.
		if r, err := resolvePlain(v.s); err != nil || r.k != kStr {
			n.Style = yaml.DoubleQuotedStyle
		}
		return n
	case kList:
		n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, x := range v.list {
			c := toNode(x)
			if c.Kind != yaml.ScalarNode {
				n.Style = 0
			}
			n.Content = append(n.Content, c)
		}
		return n
	}
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, e := range v.m {
		n.Content = append(n.Content, scalar("!!str", e.key), toNode(e.val))
	}
	return n
}
