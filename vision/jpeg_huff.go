package vision

import (
	"encoding/binary"
	"errors"
)

// The entropy decoder: a 64-bit bit buffer refilled eight bytes at a time
// where no 0xFF byte (stuffing or a marker) is near, and Huffman tables that
// resolve codes of up to lookBits bits in one lookup. For sequential scans a
// second table also resolves the coefficient itself when the code and its
// magnitude bits fit in lookBits, so a typical coefficient costs one load.

const lookBits = 10

// A fast entry: the bits to consume in bits 0-7, the zero run before the
// coefficient in bits 8-11, one of the flags below, and in bits 16-31 the
// coefficient (fastValue) or its magnitude size (fastCode). Zero means the
// code is longer than lookBits.
const (
	fastValue = 1 << 12 // the coefficient is resolved (a ZRL is a run of 15 before a zero)
	fastCode  = 1 << 13 // the code is resolved; its magnitude bits follow
	fastEOB   = 1 << 14 // end of block
)

type huffman struct {
	look [1 << lookBits]uint16 // code length << 8 | symbol; 0 for longer codes
	fast [1 << lookBits]int32  // see fastValue
	// Codes longer than lookBits: libjpeg's canonical-code bounds.
	maxcode [18]int32 // largest code of each length, -1 when none
	valptr  [17]int32 // index in vals of the first code of each length
	mincode [17]int32
	vals    [256]uint8
	nvals   int
}

func newHuffman(counts [16]int, vals []uint8, ac bool) (*huffman, error) {
	h := &huffman{nvals: len(vals)}
	copy(h.vals[:], vals)
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		h.valptr[l], h.mincode[l] = k, code
		if n == 0 {
			h.maxcode[l] = -1
		} else {
			h.maxcode[l] = code + n - 1
		}
		for range n {
			if code >= 1<<l {
				return nil, errors.New("vision: jpeg: bad Huffman table")
			}
			if l <= lookBits {
				shift := lookBits - l
				for j := range int32(1) << shift {
					idx := code<<shift | j
					h.look[idx] = uint16(l)<<8 | uint16(vals[k])
					h.fast[idx] = fastEntry(vals[k], l, idx, ac)
				}
			}
			code++
			k++
		}
		code <<= 1
	}
	h.maxcode[17] = 1 << 30 // sentinel
	return h, nil
}

// fastEntry resolves symbol sym, a code of l bits at the top of the
// lookBits-bit window idx, with its magnitude bits when they fit the window.
// In an AC table a zero size means end of block, or with a run of 15, 16
// zeros (ZRL).
func fastEntry(sym uint8, l int, idx int32, ac bool) int32 {
	run, s := int32(0), min(int(sym), 16)
	if ac {
		run, s = int32(sym>>4), int(sym&15)
		if s == 0 {
			if run != 15 {
				return fastEOB | int32(l)
			}
			return fastValue | 15<<8 | int32(l)
		}
	}
	if l+s > lookBits {
		return int32(s)<<16 | fastCode | run<<8 | int32(l)
	}
	v := (idx >> (lookBits - l - s)) & (1<<s - 1)
	if s > 0 && v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v<<16 | fastValue | run<<8 | int32(l+s)
}

// resetBits drops the buffered bits (at the end of a segment or a restart).
func (d *jpegDecoder) resetBits() { d.acc, d.nbits, d.pad = 0, 0, 0 }

// fill tops up the bit buffer to at least 57 bits. At a marker or the end
// of the data it supplies zero bits, as libjpeg does for a truncated
// segment, and counts them in pad.
func (d *jpegDecoder) fill() {
	if d.p+8 <= len(d.b) {
		v := binary.BigEndian.Uint64(d.b[d.p:])
		// The eight bytes hold no 0xFF: take as many whole bytes as fit.
		if (^v-0x0101010101010101)&v&0x8080808080808080 == 0 {
			n := uint(63-d.nbits) >> 3
			d.acc |= v >> (64 - 8*n) << (64 - 8*n - uint(d.nbits))
			d.nbits += int(8 * n)
			d.p += int(n)
			return
		}
	}
	d.fillSlow()
}

// fillSlow is fill near 0xFF bytes, markers and the end of the data.
func (d *jpegDecoder) fillSlow() {
	for d.nbits <= 56 {
		var c byte
		if d.p < len(d.b) {
			c = d.b[d.p]
			if c == 0xff {
				if d.p+1 < len(d.b) && d.b[d.p+1] == 0 {
					d.p += 2
				} else {
					c = 0 // a marker: stay on it
					d.pad += 8
				}
			} else {
				d.p++
			}
		} else {
			d.pad += 8
		}
		d.acc |= uint64(c) << (56 - uint(d.nbits))
		d.nbits += 8
	}
}

// consume drops n bits from the top of the buffer.
func (d *jpegDecoder) consume(n uint) {
	d.acc <<= n & 63
	d.nbits -= int(n)
}

// checkShort marks the segment short once decoding has reached into the
// zero bits fill supplied past the data (libjpeg's insufficient_data). Real
// bits always come before padding, so checking once a block is enough.
func (d *jpegDecoder) checkShort() {
	if d.nbits < d.pad {
		d.short = true
		d.pad = d.nbits
	}
}

func (d *jpegDecoder) bits(n int) int32 {
	if n == 0 {
		return 0
	}
	if d.nbits < n {
		d.fill()
	}
	v := int32(d.acc >> (64 - uint(n)))
	d.consume(uint(n))
	return v
}

// receiveExtend reads an s-bit magnitude and sign-extends it (JPEG's
// EXTEND); the caller has at least 16 bits buffered.
func (d *jpegDecoder) receiveExtend(s int) int32 {
	if s == 0 {
		return 0
	}
	s = min(s, 16)
	v := int32(d.acc >> (64 - uint(s)))
	d.consume(uint(s))
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}

func (d *jpegDecoder) extend(s int) int32 {
	if d.nbits < 16 {
		d.fill()
	}
	return d.receiveExtend(s)
}

func (d *jpegDecoder) huff(h *huffman) uint8 {
	if d.nbits < 16 {
		d.fill()
	}
	return d.huffBuffered(h)
}

// huffBuffered decodes one symbol; the caller has at least 16 bits buffered.
func (d *jpegDecoder) huffBuffered(h *huffman) uint8 {
	if e := h.look[d.acc>>(64-lookBits)]; e != 0 {
		d.consume(uint(e >> 8))
		return uint8(e)
	}
	code := int32(d.acc >> (64 - 16))
	for l := lookBits + 1; l <= 16; l++ {
		c := code >> (16 - l)
		if c <= h.maxcode[l] {
			d.consume(uint(l))
			i := h.valptr[l] + c - h.mincode[l]
			if i >= 0 && int(i) < h.nvals {
				return h.vals[i]
			}
			return 0
		}
	}
	// No code matches: libjpeg warns and returns 0 after consuming 16 bits.
	d.consume(16)
	return 0
}

// decodeBaseline decodes one sequential-mode block into blk (which must be
// zero) and reports whether any AC coefficient may be non-zero.
func (d *jpegDecoder) decodeBaseline(c *jpegComp, blk *[64]int16) bool {
	if d.nbits < 32 {
		d.fill()
	}
	// The bit buffer lives in locals (the compiler keeps fields in memory)
	// and goes back to d around the calls.
	acc, nbits := d.acc, d.nbits
	e := d.dc[c.td&3].fast[acc>>(64-lookBits)]
	switch {
	case e&fastValue != 0:
		acc <<= uint(e) & 0xff
		nbits -= int(e & 0xff)
		c.pred += e >> 16
	case e&fastCode != 0:
		acc <<= uint(e) & 0xff
		nbits -= int(e & 0xff)
		s := uint(e >> 16)
		c.pred += extendBits(acc, s)
		acc <<= s
		nbits -= int(s)
	default:
		s := d.huffBuffered(d.dc[c.td&3])
		c.pred += d.receiveExtend(int(s))
		acc, nbits = d.acc, d.nbits
	}
	blk[0] = int16(c.pred)
	ac := d.ac[c.ta&3]
	nonzero := false
	for k := 1; k < 64; {
		// A coefficient takes at most 16 code and 16 magnitude bits.
		if nbits < 32 {
			d.acc, d.nbits = acc, nbits
			d.fill()
			acc, nbits = d.acc, d.nbits
		}
		e := ac.fast[acc>>(64-lookBits)]
		if e&fastValue != 0 {
			acc <<= uint(e) & 0xff
			nbits -= int(e & 0xff)
			k += int(e >> 8 & 15)
			blk[zigzag[k&127]&63] = int16(e >> 16)
			k++
			nonzero = true
			continue
		}
		if e&fastCode != 0 {
			acc <<= uint(e) & 0xff
			nbits -= int(e & 0xff)
			s := uint(e>>16) & 15
			k += int(e >> 8 & 15)
			blk[zigzag[k&127]&63] = int16(extendBits(acc, s))
			acc <<= s
			nbits -= int(s)
			k++
			nonzero = true
			continue
		}
		if e&fastEOB != 0 {
			acc <<= uint(e) & 0xff
			nbits -= int(e & 0xff)
			break
		}
		d.acc, d.nbits = acc, nbits
		rs := d.huffBuffered(ac)
		r, s := int(rs>>4), int(rs&15)
		if s == 0 {
			acc, nbits = d.acc, d.nbits
			if r != 15 {
				break
			}
			k += 16
			continue
		}
		k += r
		blk[zigzag[k&127]&63] = int16(d.receiveExtend(s))
		acc, nbits = d.acc, d.nbits
		k++
		nonzero = true
	}
	d.acc, d.nbits = acc, nbits
	d.checkShort()
	return nonzero
}

// extendBits reads the s (1..16) magnitude bits at the top of acc and
// sign-extends them (JPEG's EXTEND).
func extendBits(acc uint64, s uint) int32 {
	v := int32(acc >> (64 - s))
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}
