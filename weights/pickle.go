package weights

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
)

// Pickles are decoded by gopickle's Unpickler, but never before scanPickle has
// walked the whole opcode stream. Reading gopickle v0.2.0 shows why: it
// allocates every length argument (BINBYTES, BINUNICODE8, FRAME, ...) before
// reading, it indexes a 255-entry dispatch table with the opcode byte (0xff
// panics), LONG1 with an empty payload and DICT/SETITEMS with an odd number of
// items panic, big LONG4 payloads cost quadratic time, and its own findClass
// resolves a few globals (collections.OrderedDict, __builtin__.object,
// copy_reg._reconstructor) before ours is consulted. The scan rejects all of
// that up front: every opcode must be known and allowed, every length must fit
// in the bytes that remain, the stack is simulated (so counts and memo
// references are consistent), and GLOBAL / STACK_GLOBAL names are checked
// against the allow-list before the VM sees them. The remaining hazard is a
// Go map keyed by an unhashable value (a bytes key in an OrderedDict), which
// unpickle turns into an error.

const (
	// A DLA169 state dict pickles in about 40k opcodes (a training checkpoint
	// with optimizer state in about twice that). gopickle allocates up to ~200
	// bytes per opcode, so this cap also bounds the VM's memory (~50 MB).
	maxPickleOps  = 1 << 18
	maxMarkDepth  = 256 // nesting of MARK ... TUPLE/LIST/DICT
	maxLongBytes  = 16  // the legacy torch magic number is a 10-byte LONG1
	maxGlobalLine = 256 // "module\nname\n" of a GLOBAL opcode
)

// slot is the scan's view of one stack item: the index of its value in
// pickleScanner.strs when it is a short string, else noStr. Only strings are
// tracked, because STACK_GLOBAL takes its module and name from the stack.
type slot int32

const noStr slot = -1

type pickleScanner struct {
	r       *bufio.Reader
	pos     int64
	limit   int64
	allowed func(module, name string) bool
	stack   []slot
	strs    []string
	marks   []int
	memo    map[uint32]slot
}

// scanPickle checks the pickle that starts at the reader's position and returns
// its length in bytes (through STOP). limit is the number of bytes available.
func scanPickle(r io.Reader, limit int64, allowed func(module, name string) bool) (int64, error) {
	s := &pickleScanner{r: bufio.NewReaderSize(r, 1<<16), limit: limit, allowed: allowed, memo: map[uint32]slot{}}
	for ops := 0; ; ops++ {
		if ops >= maxPickleOps {
			return 0, fmt.Errorf("pickle: more than %d opcodes", maxPickleOps)
		}
		at := s.pos
		op, err := s.byte()
		if err != nil {
			return 0, err
		}
		done, err := s.step(op)
		if err != nil {
			return 0, fmt.Errorf("pickle: offset %d, opcode 0x%02x: %w", at, op, err)
		}
		if done {
			return s.pos, nil
		}
	}
}

func (s *pickleScanner) byte() (byte, error) {
	if s.pos >= s.limit {
		return 0, fmt.Errorf("pickle: truncated at offset %d (no STOP opcode)", s.pos)
	}
	b, err := s.r.ReadByte()
	if err != nil {
		return 0, fmt.Errorf("pickle: truncated at offset %d: %w", s.pos, noEOF(err))
	}
	s.pos++
	return b, nil
}

// arg reads a fixed-size little-endian argument of n bytes.
func (s *pickleScanner) arg(n int) (uint64, error) {
	var v uint64
	for i := 0; i < n; i++ {
		b, err := s.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(b) << (8 * i)
	}
	return v, nil
}

// payload skips (or, when keep is set, returns) n bytes after checking that
// they are there.
func (s *pickleScanner) payload(n uint64, keep bool) (string, error) {
	if n > uint64(s.limit-s.pos) {
		return "", fmt.Errorf("length %d runs past the end of the data (%d bytes left)", n, s.limit-s.pos)
	}
	if keep {
		b := make([]byte, n)
		if _, err := io.ReadFull(s.r, b); err != nil {
			return "", noEOF(err)
		}
		s.pos += int64(n)
		return string(b), nil
	}
	k, err := s.r.Discard(int(n))
	s.pos += int64(k)
	return "", noEOF(err)
}

func (s *pickleScanner) line() (string, error) {
	var b []byte
	for len(b) <= maxGlobalLine {
		c, err := s.byte()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			return string(b), nil
		}
		b = append(b, c)
	}
	return "", errors.New("GLOBAL name too long")
}

func (s *pickleScanner) push(v slot) { s.stack = append(s.stack, v) }

func (s *pickleScanner) pushStr(str string) {
	s.strs = append(s.strs, str)
	s.push(slot(len(s.strs) - 1))
}

// pop removes n items, which must all lie above the topmost mark.
func (s *pickleScanner) pop(n int) ([]slot, error) {
	floor := 0
	if len(s.marks) > 0 {
		floor = s.marks[len(s.marks)-1]
	}
	if len(s.stack)-floor < n {
		return nil, errors.New("stack underflow")
	}
	out := s.stack[len(s.stack)-n:]
	s.stack = s.stack[:len(s.stack)-n]
	return out, nil
}

// popMark removes the topmost mark and returns how many items were above it.
func (s *pickleScanner) popMark() (int, error) {
	if len(s.marks) == 0 {
		return 0, errors.New("no MARK on the stack")
	}
	m := s.marks[len(s.marks)-1]
	s.marks = s.marks[:len(s.marks)-1]
	n := len(s.stack) - m
	s.stack = s.stack[:m]
	return n, nil
}

func (s *pickleScanner) global(module, name string) error {
	if !s.allowed(module, name) {
		return fmt.Errorf("global %s.%s is not allowed in a weight file", module, name)
	}
	s.push(noStr)
	return nil
}

// argSize is the size of the fixed little-endian argument (a value or a
// length) of the opcodes that have one.
var argSize = [256]int{
	'J': 4, 'K': 1, 'M': 2, 'G': 8, 0x8a: 1, 0x8b: 4, 'B': 4, 0x8d: 8, 0x8e: 8,
	'h': 1, 'j': 4, 'q': 1, 'r': 4,
}

func (s *pickleScanner) step(op byte) (done bool, err error) {
	lenArg := func(n int, keep bool) error {
		v, err := s.arg(n)
		if err != nil {
			return err
		}
		str, err := s.payload(v, keep)
		if err == nil && keep {
			s.pushStr(str)
		} else if err == nil {
			s.push(noStr)
		}
		return err
	}
	switch op {
	case '(': // MARK
		if len(s.marks) >= maxMarkDepth {
			return false, fmt.Errorf("MARKs nested deeper than %d", maxMarkDepth)
		}
		s.marks = append(s.marks, len(s.stack))
	case '.': // STOP
		if len(s.marks) != 0 || len(s.stack) != 1 {
			return false, errors.New("STOP with an unbalanced stack")
		}
		return true, nil
	case '0': // POP
		_, err = s.pop(1)
	case '1': // POP_MARK
		_, err = s.popMark()
	case '2': // DUP
		var v []slot
		if v, err = s.pop(1); err == nil {
			s.push(v[0])
			s.push(v[0])
		}
	case 'J', 'K', 'M', 'G': // BININT, BININT1, BININT2, BINFLOAT
		_, err = s.arg(argSize[op])
		s.push(noStr)
	case 'N', ')', ']', '}', 0x88, 0x89: // NONE, EMPTY_TUPLE/LIST/DICT, NEWTRUE, NEWFALSE
		s.push(noStr)
	case 0x8a, 0x8b: // LONG1, LONG4
		var n uint64
		if n, err = s.arg(argSize[op]); err != nil {
			return false, err
		}
		if n == 0 || n > maxLongBytes {
			return false, fmt.Errorf("integer of %d bytes (1 to %d supported)", n, maxLongBytes)
		}
		_, err = s.payload(n, false)
		s.push(noStr)
	case 'U', 'C': // SHORT_BINSTRING, SHORT_BINBYTES
		err = lenArg(1, false)
	case 0x8c: // SHORT_BINUNICODE
		err = lenArg(1, true)
	case 'T': // BINSTRING (signed length)
		var n uint64
		if n, err = s.arg(4); err != nil {
			return false, err
		}
		if n >= 1<<31 {
			return false, errors.New("negative BINSTRING length")
		}
		_, err = s.payload(n, false)
		s.push(noStr)
	case 'X': // BINUNICODE: keep short strings (names for STACK_GLOBAL)
		var n uint64
		if n, err = s.arg(4); err != nil {
			return false, err
		}
		str, err2 := s.payload(n, n <= maxGlobalLine)
		if n <= maxGlobalLine {
			s.pushStr(str)
		} else {
			s.push(noStr)
		}
		err = err2
	case 'B', 0x8d, 0x8e: // BINBYTES, BINUNICODE8, BINBYTES8
		err = lenArg(argSize[op], false)
	case 0x95: // FRAME: its content is parsed as ordinary opcodes
		var n uint64
		if n, err = s.arg(8); err == nil && n > uint64(s.limit-s.pos) {
			err = fmt.Errorf("frame of %d bytes runs past the end of the data", n)
		}
	case 0x80: // PROTO
		var v uint64
		if v, err = s.arg(1); err == nil && v > uint64(pickle.HighestProtocol) {
			err = fmt.Errorf("pickle protocol %d is not supported", v)
		}
	case 'c': // GLOBAL
		module, err := s.line()
		if err != nil {
			return false, err
		}
		name, err := s.line()
		if err != nil {
			return false, err
		}
		return false, s.global(module, name)
	case 0x93: // STACK_GLOBAL
		v, err := s.pop(2)
		if err != nil {
			return false, err
		}
		if v[0] == noStr || v[1] == noStr {
			return false, errors.New("STACK_GLOBAL needs two literal strings")
		}
		return false, s.global(s.strs[v[0]], s.strs[v[1]])
	case 'Q': // BINPERSID
		if _, err = s.pop(1); err == nil {
			s.push(noStr)
		}
	case 'R', 'b', 'a': // REDUCE, BUILD, APPEND: pop 2, push 1
		if _, err = s.pop(2); err == nil {
			s.push(noStr)
		}
	case 0x85, 0x86, 0x87: // TUPLE1..3
		if _, err = s.pop(int(op - 0x84)); err == nil {
			s.push(noStr)
		}
	case 's': // SETITEM: dict, key, value -> dict
		if _, err = s.pop(3); err == nil {
			s.push(noStr)
		}
	case 't', 'l': // TUPLE, LIST
		if _, err = s.popMark(); err == nil {
			s.push(noStr)
		}
	case 'd': // DICT
		var n int
		if n, err = s.popMark(); err == nil {
			if n%2 != 0 {
				return false, errors.New("DICT with an odd number of items")
			}
			s.push(noStr)
		}
	case 'e', 'u': // APPENDS, SETITEMS: mark items -> (the container stays)
		var n int
		if n, err = s.popMark(); err != nil {
			return false, err
		}
		if op == 'u' && n%2 != 0 {
			return false, errors.New("SETITEMS with an odd number of items")
		}
		if _, err = s.pop(1); err == nil {
			s.push(noStr)
		}
	case 'h', 'j': // BINGET, LONG_BINGET
		var i uint64
		if i, err = s.arg(argSize[op]); err != nil {
			return false, err
		}
		v, ok := s.memo[uint32(i)]
		if !ok {
			return false, fmt.Errorf("memo entry %d was never stored", i)
		}
		s.push(v)
	case 'q', 'r': // BINPUT, LONG_BINPUT
		var i uint64
		if i, err = s.arg(argSize[op]); err != nil {
			return false, err
		}
		err = s.memoize(uint32(i))
	case 0x94: // MEMOIZE
		err = s.memoize(uint32(len(s.memo)))
	default:
		return false, fmt.Errorf("opcode %s is not supported in weight files", opName(op))
	}
	return false, err
}

func (s *pickleScanner) memoize(i uint32) error {
	floor := 0
	if len(s.marks) > 0 {
		floor = s.marks[len(s.marks)-1]
	}
	if len(s.stack) <= floor {
		return errors.New("memo store from an empty stack")
	}
	s.memo[i] = s.stack[len(s.stack)-1]
	return nil
}

func opName(op byte) string {
	names := map[byte]string{
		'I': "INT", 'L': "LONG", 'F': "FLOAT", 'S': "STRING", 'V': "UNICODE", 'P': "PERSID",
		'g': "GET", 'p': "PUT", 'i': "INST", 'o': "OBJ", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
		0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX",
		0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
	}
	if n, ok := names[op]; ok {
		return n
	}
	return fmt.Sprintf("0x%02x (unknown)", op)
}

// unpickle runs gopickle's VM over a pickle that scanPickle accepted. classes
// resolves the allowed globals; persistent resolves persistent ids (may be nil).
func unpickle(r io.Reader, classes func(module, name string) (any, error), persistent func(any) (any, error)) (v any, err error) {
	u := pickle.NewUnpickler(r)
	u.FindClass = classes
	if persistent != nil {
		u.PersistentLoad = persistent
	}
	defer func() {
		// gopickle keeps OrderedDict keys in a Go map, and a bytes key panics
		// there ("hash of unhashable type"). The scan rules out every other panic
		// we know of; any other is a bug and is left to crash tests and fuzzers.
		if p := recover(); p != nil {
			re, ok := p.(runtime.Error)
			if !ok || !strings.Contains(re.Error(), "unhashable") {
				panic(p)
			}
			v, err = nil, fmt.Errorf("pickle: malformed data: %v", p)
		}
	}()
	return u.Load()
}

// noEOF reports a missing byte as io.ErrUnexpectedEOF: inside a file an EOF
// always means truncation.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
