package config

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PaddleClas types a config's strings with Python: ast.literal_eval on the
// strings of mappings when it loads a file, eval on override values (falling
// back to the string itself when eval raises), and eval on NormalizeImage's
// scale. pyEval evaluates the part of Python's expression language those
// values use: number, string, True/False/None literals, lists, tuples and
// dicts of them, and in eval mode arithmetic (+ - * / // % ** and unary
// - + ~) on numbers. Anything else (names, calls, attributes) is treated as
// an expression Python would fail on, so nothing in a config is executed.

// errRange marks a value Python accepts but a config cannot hold (an integer
// beyond 64 bits); it is reported instead of falling back to the string.
var errRange = errors.New("out of range")

// literalEval is ast.literal_eval: ok is false when Python raises.
func literalEval(s string) (*value, bool) {
	v, err := pyEval(s, true)
	return v, err == nil
}

// evalOrString is PaddleClas's str2num: eval(s), or s itself when eval
// raises.
func evalOrString(s string) (*value, error) {
	v, err := pyEval(s, false)
	if errors.Is(err, errRange) {
		return nil, err
	}
	if err != nil {
		return &value{k: kStr, s: s}, nil
	}
	return v, nil
}

type pyParser struct {
	src     string
	pos     int
	depth   int // open brackets, inside which newlines are spaces
	nest    int // nested subexpressions, bounded as CPython's parser bounds them
	literal bool
}

const maxNest = 200

var errSyntax = errors.New("not a Python literal")

func pyEval(s string, literal bool) (*value, error) {
	p := &pyParser{src: strings.TrimLeft(s, " \t"), literal: literal}
	v, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.space()
	for p.pos < len(p.src) && (p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
		p.space()
	}
	if p.pos != len(p.src) {
		return nil, errSyntax
	}
	return v, nil
}

func (p *pyParser) space() {
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == ' ' || c == '\t' || c == '\f' || p.depth > 0 && (c == '\n' || c == '\r') {
			p.pos++
			continue
		}
		if c == '\\' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '\n' {
			p.pos += 2
			continue
		}
		break
	}
}

// peek reports whether the next token starts with tok.
func (p *pyParser) peek(tok string) bool {
	p.space()
	return strings.HasPrefix(p.src[p.pos:], tok)
}

func (p *pyParser) accept(tok string) bool {
	if p.peek(tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

type binOp struct {
	tok string
	op  byte // arith's name for it
}

var (
	sumOps     = []binOp{{"+", '+'}, {"-", '-'}}
	productOps = []binOp{{"*", '*'}, {"//", 'f'}, {"/", '/'}, {"%", '%'}}
)

func (p *pyParser) expr() (*value, error) {
	if p.literal {
		return p.unary()
	}
	return p.binary(sumOps, func() (*value, error) { return p.binary(productOps, p.unary) })
}

// binary reads operands joined by left-associative operators of one
// precedence level.
func (p *pyParser) binary(ops []binOp, operand func() (*value, error)) (*value, error) {
	x, err := operand()
	for err == nil {
		var op byte
		for _, o := range ops {
			if p.accept(o.tok) {
				op = o.op
				break
			}
		}
		if op == 0 {
			return x, nil
		}
		var y *value
		if y, err = operand(); err == nil {
			x, err = arith(op, x, y)
		}
	}
	return nil, err
}

func (p *pyParser) unary() (*value, error) {
	if p.nest++; p.nest > maxNest {
		return nil, errSyntax
	}
	defer func() { p.nest-- }()
	for _, op := range []byte{'-', '+', '~'} {
		if op == '~' && p.literal {
			break
		}
		if p.accept(string(op)) {
			var x *value
			var err error
			if p.literal {
				// literal_eval takes one sign directly on a number.
				if x, err = p.atom(); err == nil && x.k != kInt && x.k != kFloat {
					err = errSyntax
				}
			} else {
				x, err = p.unary()
			}
			if err != nil {
				return nil, err
			}
			return negate(op, x)
		}
	}
	x, err := p.atom()
	if err != nil || p.literal || !p.accept("**") {
		return x, err
	}
	y, err := p.unary() // right-associative, and binds tighter than a unary minus on its left
	if err != nil {
		return nil, err
	}
	return arith('^', x, y)
}

func (p *pyParser) atom() (*value, error) {
	p.space()
	if p.pos == len(p.src) {
		return nil, errSyntax
	}
	c := p.src[p.pos]
	switch {
	case c == '(':
		return p.sequence('(', ')')
	case c == '[':
		return p.sequence('[', ']')
	case c == '{':
		return p.dict()
	case c >= '0' && c <= '9' || c == '.' && p.pos+1 < len(p.src) && isDigit(p.src[p.pos+1]):
		return p.number()
	case c == '\'' || c == '"':
		return p.strings()
	case isNameStart(c):
		start := p.pos
		for p.pos < len(p.src) && (isNameStart(p.src[p.pos]) || isDigit(p.src[p.pos])) {
			p.pos++
		}
		name := p.src[start:p.pos]
		if p.pos < len(p.src) && (p.src[p.pos] == '\'' || p.src[p.pos] == '"') {
			switch strings.ToLower(name) {
			case "r", "u":
				p.pos = start
				return p.strings()
			}
			return nil, errSyntax // bytes and f-strings
		}
		switch name {
		case "True":
			return &value{k: kBool, b: true}, nil
		case "False":
			return &value{k: kBool}, nil
		case "None":
			return &value{k: kNull}, nil
		}
	}
	return nil, errSyntax
}

func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isNameStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// sequence reads a list or a parenthesised expression or tuple.
func (p *pyParser) sequence(open, close byte) (*value, error) {
	p.pos++
	p.depth++
	v := &value{k: kList}
	trailingComma := false
	for !p.accept(string(close)) {
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		v.list = append(v.list, x)
		trailingComma = p.accept(",")
		if !trailingComma && !p.peek(string(close)) {
			return nil, errSyntax
		}
	}
	p.depth--
	if open == '(' && len(v.list) == 1 && !trailingComma {
		return v.list[0], nil // (x) is x, not a tuple
	}
	return v, nil
}

func (p *pyParser) dict() (*value, error) {
	p.pos++
	p.depth++
	v := &value{k: kMap}
	for !p.accept("}") {
		k, err := p.expr()
		if err != nil {
			return nil, err
		}
		if k.k != kStr || !p.accept(":") {
			return nil, errSyntax // sets, and keys a config cannot name
		}
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		v.set(k.s, x)
		if !p.accept(",") && !p.peek("}") {
			return nil, errSyntax
		}
	}
	p.depth--
	return v, nil
}

// number reads an int or float literal with Python's rules (underscores
// between digits, 0x/0o/0b, no leading zeros on decimal integers).
func (p *pyParser) number() (*value, error) {
	start := p.pos
	s := p.src
	digits := func(ok func(byte) bool) bool {
		n := 0
		for p.pos < len(s) && (ok(s[p.pos]) || s[p.pos] == '_' && n > 0 && p.pos+1 < len(s) && ok(s[p.pos+1])) {
			p.pos++
			n++
		}
		return n > 0
	}
	end := func() error {
		if p.pos < len(s) && (isNameStart(s[p.pos]) || isDigit(s[p.pos]) || s[p.pos] == '.') {
			return errSyntax // 1j, 0x1g, 1.2.3
		}
		return nil
	}
	if s[p.pos] == '0' && p.pos+1 < len(s) {
		base := 0
		switch s[p.pos+1] | 0x20 {
		case 'x':
			base = 16
		case 'o':
			base = 8
		case 'b':
			base = 2
		}
		if base != 0 {
			p.pos += 2
			if p.pos < len(s) && s[p.pos] == '_' {
				p.pos++
			}
			if !digits(func(c byte) bool { return digitValue(c) < base }) {
				return nil, errSyntax
			}
			if err := end(); err != nil {
				return nil, err
			}
			return pyInt(strings.ReplaceAll(s[start+2:p.pos], "_", ""), base)
		}
	}
	digits(isDigit)
	isFloat := false
	if p.pos < len(s) && s[p.pos] == '.' {
		isFloat = true
		p.pos++
		digits(isDigit)
	}
	if p.pos < len(s) && (s[p.pos]|0x20) == 'e' {
		save := p.pos
		p.pos++
		if p.pos < len(s) && (s[p.pos] == '+' || s[p.pos] == '-') {
			p.pos++
		}
		if digits(isDigit) {
			isFloat = true
		} else {
			p.pos = save
		}
	}
	if err := end(); err != nil {
		return nil, err
	}
	text := strings.ReplaceAll(s[start:p.pos], "_", "")
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, errSyntax
		}
		return &value{k: kFloat, f: f}, nil
	}
	if len(text) > 1 && text[0] == '0' && strings.Trim(text, "0") != "" {
		return nil, errSyntax // 010 is a syntax error in Python 3
	}
	return pyInt(text, 10)
}

func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return int(c|0x20-'a') + 10
	}
	return 99
}

func pyInt(text string, base int) (*value, error) {
	u, err := strconv.ParseUint(text, base, 63)
	if err != nil {
		return nil, errRange
	}
	return &value{k: kInt, i: int64(u)}, nil
}

// strings reads one or more adjacent string literals and joins them.
func (p *pyParser) strings() (*value, error) {
	var b strings.Builder
	n := 0
	for {
		p.space()
		if p.pos == len(p.src) {
			break
		}
		raw := false
		save := p.pos
		if c := p.src[p.pos] | 0x20; c == 'r' || c == 'u' {
			raw = c == 'r'
			p.pos++
		}
		if p.pos == len(p.src) || p.src[p.pos] != '\'' && p.src[p.pos] != '"' {
			p.pos = save
			break
		}
		s, err := p.stringLiteral(raw)
		if err != nil {
			return nil, err
		}
		b.WriteString(s)
		n++
	}
	if n == 0 {
		return nil, errSyntax
	}
	return &value{k: kStr, s: b.String()}, nil
}

func (p *pyParser) stringLiteral(raw bool) (string, error) {
	q := p.src[p.pos : p.pos+1]
	if strings.HasPrefix(p.src[p.pos:], q+q+q) {
		q = q + q + q
	}
	p.pos += len(q)
	var b strings.Builder
	for {
		if p.pos >= len(p.src) {
			return "", errSyntax
		}
		if strings.HasPrefix(p.src[p.pos:], q) {
			p.pos += len(q)
			return b.String(), nil
		}
		c := p.src[p.pos]
		if c == '\n' && len(q) == 1 {
			return "", errSyntax
		}
		if c != '\\' {
			b.WriteByte(c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.src) {
			return "", errSyntax
		}
		e := p.src[p.pos+1]
		if raw {
			b.WriteByte('\\')
			b.WriteByte(e)
			p.pos += 2
			continue
		}
		p.pos += 2
		switch e {
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if p.pos+n > len(p.src) {
				return "", errSyntax
			}
			r, err := strconv.ParseUint(p.src[p.pos:p.pos+n], 16, 32)
			if err != nil || r > utf8.MaxRune {
				return "", errSyntax
			}
			b.WriteRune(rune(r))
			p.pos += n
		default:
			if e >= '0' && e <= '7' {
				r := int(e - '0')
				for k := 0; k < 2 && p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '7'; k++ {
					r = r*8 + int(p.src[p.pos]-'0')
					p.pos++
				}
				b.WriteRune(rune(r))
			} else {
				b.WriteByte('\\') // Python keeps unknown escapes
				b.WriteByte(e)
			}
		}
	}
}

// operand returns v as an int or float operand; bools count as ints.
func operand(v *value) (i int64, f float64, isInt, ok bool) {
	switch v.k {
	case kBool:
		if v.b {
			return 1, 1, true, true
		}
		return 0, 0, true, true
	case kInt:
		return v.i, float64(v.i), true, true
	case kFloat:
		return 0, v.f, false, true
	}
	return 0, 0, false, false
}

func negate(op byte, x *value) (*value, error) {
	i, f, isInt, ok := operand(x)
	if !ok {
		return nil, errSyntax
	}
	switch {
	case op == '+' && isInt:
		return &value{k: kInt, i: i}, nil
	case op == '+':
		return &value{k: kFloat, f: f}, nil
	case op == '-' && isInt:
		return &value{k: kInt, i: -i}, nil
	case op == '-':
		return &value{k: kFloat, f: -f}, nil
	case isInt: // ~
		return &value{k: kInt, i: ^i}, nil
	}
	return nil, errSyntax
}

// arith applies a binary operator with Python's semantics ('f' is //, '^'
// is **). Errors Python raises (division by zero) are errSyntax, so the
// expression falls back to its text as PaddleClas's does.
func arith(op byte, x, y *value) (*value, error) {
	if x.k == kStr && y.k == kStr && op == '+' {
		return &value{k: kStr, s: x.s + y.s}, nil
	}
	a, fa, aInt, ok1 := operand(x)
	b, fb, bInt, ok2 := operand(y)
	if !ok1 || !ok2 {
		return nil, errSyntax
	}
	if aInt && bInt && op != '/' && !(op == '^' && b < 0) {
		r, ok := intArith(op, a, b)
		if ok == nil {
			return &value{k: kInt, i: r}, nil
		}
		return nil, ok
	}
	var r float64
	switch op {
	case '+':
		r = fa + fb
	case '-':
		r = fa - fb
	case '*':
		r = fa * fb
	case '/', 'f', '%':
		if fb == 0 {
			return nil, errSyntax
		}
		switch op {
		case '/':
			r = fa / fb
		case 'f':
			r = math.Floor(fa / fb)
		default:
			r = math.Mod(fa, fb)
			if r != 0 && (r < 0) != (fb < 0) {
				r += fb
			}
		}
	case '^':
		if fa == 0 && fb < 0 {
			return nil, errSyntax
		}
		r = math.Pow(fa, fb)
		if r != r {
			return nil, errSyntax // a negative base to a fractional power is complex
		}
	}
	return &value{k: kFloat, f: r}, nil
}

func intArith(op byte, a, b int64) (int64, error) {
	x, y := big.NewInt(a), big.NewInt(b)
	r := new(big.Int)
	switch op {
	case '+':
		r.Add(x, y)
	case '-':
		r.Sub(x, y)
	case '*':
		r.Mul(x, y)
	case 'f', '%':
		if b == 0 {
			return 0, errSyntax
		}
		m := new(big.Int)
		r.DivMod(x, y, m)           // Euclidean: m >= 0
		if m.Sign() != 0 && b < 0 { // Python's quotient is floored, its remainder takes b's sign
			r.Sub(r, big.NewInt(1))
			m.Add(m, y)
		}
		if op == '%' {
			r = m
		}
	case '^':
		if b > 64 && (a < -1 || a > 1) {
			return 0, errRange
		}
		r.Exp(x, y, nil)
	}
	if !r.IsInt64() {
		return 0, errRange
	}
	return r.Int64(), nil
}
