package vision

import (
	"errors"
	"fmt"
)

// A JPEG decoder that reproduces libjpeg-turbo's output (what OpenCV's
// imdecode and Pillow both link): Huffman-coded baseline, extended and
// progressive files, the "islow" integer IDCT, libjpeg's chroma upsampling and
// colour conversions. Go's image/jpeg uses a different IDCT, which costs up
// to 3 grey levels. Files this decoder does not handle (arithmetic coding,
// lossless, 12-bit) return errUnsupportedJPEG and go to image/jpeg instead.
// Like libjpeg, it reads a truncated entropy-coded segment as zero bits
// rather than failing.

var errUnsupportedJPEG = errors.New("vision: jpeg variant not handled here")

// zigzag maps the k-th coefficient in scan order to its position in the
// row-major 8x8 block; entries past 63 catch corrupt run lengths, as
// libjpeg's table does.
var zigzag = [80]uint8{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
	63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
}

type huffman struct {
	// Codes up to lookBits long resolve in one table step: symbol and length.
	look    [1 << lookBits]struct{ sym, n uint8 }
	maxcode [18]int32 // largest code of each length, -1 when none
	valptr  [17]int32 // index in vals of the first code of each length
	mincode [17]int32
	vals    []uint8
}

const lookBits = 9

func newHuffman(counts [16]int, vals []uint8) (*huffman, error) {
	h := &huffman{vals: vals}
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
					e := &h.look[code<<shift|j]
					e.sym, e.n = vals[k], uint8(l)
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

type jpegComp struct {
	id, h, v, tq int
	td, ta       int
	bw, bh       int     // coefficient grid in blocks (whole MCUs)
	w, ht        int     // downsampled size in samples
	coef         []int16 // bw*bh blocks of 64, row-major within a block
	pred         int32
}

type jpegDecoder struct {
	b            []byte
	p            int
	acc          uint64 // entropy bits, most significant first
	nbits        int
	pad          int  // trailing zero bits in acc that are not in the file
	short        bool // the segment ran out: libjpeg's insufficient_data
	qt           [4][64]uint16
	dc, ac       [4]*huffman
	comps        []*jpegComp
	w, h         int
	hmax, vmax   int
	mcusX, mcusY int
	progressive  bool
	frame        bool
	restart      int
	eobrun       int
	jfif, adobe  bool
	adobeXform   int
}

// jpegPlanes is the decoded frame: one full-resolution plane per component.
type jpegPlanes struct {
	w, h       int
	planes     [][]uint8
	colorSpace int // jpegGray, jpegYCbCr, jpegRGB, jpegCMYK, jpegYCCK
}

const (
	jpegGray = iota
	jpegYCbCr
	jpegRGB
	jpegCMYK
	jpegYCCK
)

func decodeJPEG(b []byte, maxPixels int64) (*jpegPlanes, error) {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return nil, errors.New("vision: jpeg: missing SOI")
	}
	d := &jpegDecoder{b: b, p: 2}
	scans := 0
	for {
		marker, ok := d.nextMarker()
		if !ok || marker == 0xd9 {
			break
		}
		if marker == 0xd8 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7) {
			continue
		}
		if d.p+2 > len(b) {
			break
		}
		n := int(b[d.p])<<8 | int(b[d.p+1])
		if n < 2 || d.p+n > len(b) {
			return nil, errors.New("vision: jpeg: segment overruns the file")
		}
		seg := b[d.p+2 : d.p+n]
		d.p += n
		var err error
		switch {
		case marker == 0xdb:
			err = d.parseDQT(seg)
		case marker == 0xc4:
			err = d.parseDHT(seg)
		case marker == 0xc0 || marker == 0xc1 || marker == 0xc2:
			err = d.parseSOF(seg, marker == 0xc2, maxPixels)
		case marker >= 0xc3 && marker <= 0xcf && marker != 0xc8 && marker != 0xcc:
			return nil, errUnsupportedJPEG
		case marker == 0xdd:
			if len(seg) < 2 {
				return nil, errors.New("vision: jpeg: bad DRI")
			}
			d.restart = int(seg[0])<<8 | int(seg[1])
		case marker == 0xe0:
			d.jfif = d.jfif || (len(seg) >= 5 && string(seg[:5]) == "JFIF\x00")
		case marker == 0xee:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				d.adobe, d.adobeXform = true, int(seg[11])
			}
		case marker == 0xda:
			if err = d.parseSOS(seg); err == nil {
				scans++
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if !d.frame || scans == 0 {
		return nil, errors.New("vision: jpeg: no image data")
	}
	return d.output(), nil
}

// nextMarker skips to the next marker (past any bytes libjpeg would also
// discard) and returns its code, leaving p after it.
func (d *jpegDecoder) nextMarker() (byte, bool) {
	for d.p+1 < len(d.b) {
		if d.b[d.p] != 0xff || d.b[d.p+1] == 0 || d.b[d.p+1] == 0xff {
			d.p++
			continue
		}
		m := d.b[d.p+1]
		d.p += 2
		return m, true
	}
	return 0, false
}

func (d *jpegDecoder) parseDQT(s []byte) error {
	for len(s) > 0 {
		pq, tq := s[0]>>4, int(s[0]&15)
		if tq > 3 || pq > 1 {
			return errors.New("vision: jpeg: bad DQT")
		}
		n := 64 * (1 + int(pq))
		if len(s) < 1+n {
			return errors.New("vision: jpeg: short DQT")
		}
		for k := range 64 {
			v := uint16(s[1+k])
			if pq == 1 {
				v = uint16(s[1+2*k])<<8 | uint16(s[2+2*k])
			}
			d.qt[tq][zigzag[k]] = v
		}
		s = s[1+n:]
	}
	return nil
}

func (d *jpegDecoder) parseDHT(s []byte) error {
	for len(s) > 0 {
		if len(s) < 17 {
			return errors.New("vision: jpeg: short DHT")
		}
		tc, th := s[0]>>4, int(s[0]&15)
		if tc > 1 || th > 3 {
			return errors.New("vision: jpeg: bad DHT")
		}
		var counts [16]int
		total := 0
		for i := range 16 {
			counts[i] = int(s[1+i])
			total += counts[i]
		}
		if total > 256 || len(s) < 17+total {
			return errors.New("vision: jpeg: bad DHT")
		}
		h, err := newHuffman(counts, append([]uint8(nil), s[17:17+total]...))
		if err != nil {
			return err
		}
		if tc == 0 {
			d.dc[th] = h
		} else {
			d.ac[th] = h
		}
		s = s[17+total:]
	}
	return nil
}

func (d *jpegDecoder) parseSOF(s []byte, progressive bool, maxPixels int64) error {
	if d.frame {
		return errors.New("vision: jpeg: second frame")
	}
	if len(s) < 6 {
		return errors.New("vision: jpeg: short SOF")
	}
	if s[0] != 8 {
		return errUnsupportedJPEG
	}
	d.h, d.w = int(s[1])<<8|int(s[2]), int(s[3])<<8|int(s[4])
	nc := int(s[5])
	if d.w == 0 || d.h == 0 {
		return errUnsupportedJPEG // height defined by DNL: leave it to image/jpeg
	}
	if int64(d.w)*int64(d.h) > maxPixels {
		return fmt.Errorf("%w: %dx%d", ErrTooLarge, d.w, d.h)
	}
	if (nc != 1 && nc != 3 && nc != 4) || len(s) < 6+3*nc {
		return errors.New("vision: jpeg: bad component count")
	}
	d.progressive = progressive
	d.hmax, d.vmax = 1, 1
	for i := range nc {
		c := &jpegComp{id: int(s[6+3*i]), h: int(s[7+3*i] >> 4), v: int(s[7+3*i] & 15), tq: int(s[8+3*i])}
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return errors.New("vision: jpeg: bad component")
		}
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
		d.comps = append(d.comps, c)
	}
	d.mcusX = (d.w + 8*d.hmax - 1) / (8 * d.hmax)
	d.mcusY = (d.h + 8*d.vmax - 1) / (8 * d.vmax)
	for _, c := range d.comps {
		if d.hmax%c.h != 0 || d.vmax%c.v != 0 {
			return errUnsupportedJPEG // fractional sampling, which libjpeg refuses too
		}
		c.w = (d.w*c.h + d.hmax - 1) / d.hmax
		c.ht = (d.h*c.v + d.vmax - 1) / d.vmax
		c.bw, c.bh = d.mcusX*c.h, d.mcusY*c.v
		c.coef = make([]int16, c.bw*c.bh*64)
	}
	d.frame = true
	return nil
}

func (d *jpegDecoder) parseSOS(s []byte) error {
	if !d.frame || len(s) < 1 {
		return errors.New("vision: jpeg: scan before frame")
	}
	ns := int(s[0])
	if ns < 1 || ns > 4 || len(s) < 4+2*ns {
		return errors.New("vision: jpeg: bad SOS")
	}
	var comps []*jpegComp
	for i := range ns {
		id := int(s[1+2*i])
		var c *jpegComp
		for _, fc := range d.comps {
			if fc.id == id {
				c = fc
			}
		}
		if c == nil {
			return errors.New("vision: jpeg: scan names an unknown component")
		}
		c.td, c.ta = int(s[2+2*i]>>4), int(s[2+2*i]&15)
		if c.td > 3 || c.ta > 3 {
			return errors.New("vision: jpeg: bad table selector")
		}
		comps = append(comps, c)
	}
	ss, se := int(s[1+2*ns]), int(s[2+2*ns])
	ah, al := int(s[3+2*ns]>>4), int(s[3+2*ns]&15)
	if d.progressive {
		if ss > se || se > 63 || (ss == 0 && se != 0) || (ss > 0 && ns != 1) || al > 13 {
			return errors.New("vision: jpeg: bad progressive scan")
		}
	} else {
		ss, se, ah, al = 0, 63, 0, 0
	}
	for _, c := range comps {
		needDC, needAC := ss == 0 && ah == 0, !d.progressive || ss > 0
		if (needDC && d.dc[c.td] == nil) || (needAC && d.ac[c.ta] == nil) {
			return errors.New("vision: jpeg: scan uses an undefined Huffman table")
		}
		c.pred = 0
	}
	d.resetBits()
	d.eobrun = 0

	decode := func(c *jpegComp, bx, by int) {
		if d.short {
			return // libjpeg leaves the rest of a truncated segment zero (grey)
		}
		blk := c.coef[(by*c.bw+bx)*64 : (by*c.bw+bx)*64+64]
		switch {
		case !d.progressive:
			d.decodeBaseline(c, blk)
		case ss == 0 && ah == 0:
			t := int(d.huff(d.dc[c.td]))
			c.pred += d.extend(t)
			blk[0] = int16(c.pred << al)
		case ss == 0:
			if d.bits(1) != 0 {
				blk[0] |= int16(1 << al)
			}
		case ah == 0:
			d.decodeACFirst(c, blk, ss, se, al)
		default:
			d.decodeACRefine(c, blk, ss, se, al)
		}
	}
	mcu := 0
	restartDue := func() {
		mcu++
		if d.restart == 0 || mcu%d.restart != 0 {
			return
		}
		// Drop the partial byte, expect RSTn, reset predictions; a found
		// marker also clears the out-of-data state, as in libjpeg.
		d.resetBits()
		d.eobrun = 0
		for _, c := range comps {
			c.pred = 0
		}
		save := d.p
		if m, ok := d.nextMarker(); ok && m >= 0xd0 && m <= 0xd7 {
			d.short = false
		} else {
			d.p = save
		}
	}
	if ns == 1 {
		c := comps[0]
		bw, bh := (c.w+7)/8, (c.ht+7)/8
		for by := range bh {
			for bx := range bw {
				decode(c, bx, by)
				restartDue()
			}
		}
	} else {
		for my := range d.mcusY {
			for mx := range d.mcusX {
				for _, c := range comps {
					for v := range c.v {
						for h := range c.h {
							decode(c, mx*c.h+h, my*c.v+v)
						}
					}
				}
				restartDue()
			}
		}
	}
	d.resetBits()
	d.short = false
	return nil
}

func (d *jpegDecoder) resetBits() { d.acc, d.nbits, d.pad = 0, 0, 0 }

// take consumes n bits; reaching into the zero padding marks the segment
// as short.
func (d *jpegDecoder) take(n int) {
	if real := d.nbits - d.pad; n > real {
		d.short = true
		d.pad -= n - real
	}
	d.acc <<= n
	d.nbits -= n
}

// fill tops up the bit accumulator. At a marker or the end of the data it
// supplies zero bits, as libjpeg does for a truncated segment.
func (d *jpegDecoder) fill() {
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
		d.acc |= uint64(c) << (56 - d.nbits)
		d.nbits += 8
	}
}

func (d *jpegDecoder) bits(n int) int32 {
	if n == 0 {
		return 0
	}
	if d.nbits < n {
		d.fill()
	}
	v := int32(d.acc >> (64 - n))
	d.take(n)
	return v
}

// extend reads an s-bit magnitude and sign-extends it (JPEG's EXTEND).
func (d *jpegDecoder) extend(s int) int32 {
	if s == 0 {
		return 0
	}
	if s > 16 {
		s = 16
	}
	v := d.bits(s)
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}

func (d *jpegDecoder) huff(h *huffman) uint8 {
	if d.nbits < 16 {
		d.fill()
	}
	if e := h.look[d.acc>>(64-lookBits)]; e.n != 0 {
		d.take(int(e.n))
		return e.sym
	}
	code := int32(d.acc >> (64 - 16))
	for l := lookBits + 1; l <= 16; l++ {
		c := code >> (16 - l)
		if c <= h.maxcode[l] {
			d.take(l)
			i := h.valptr[l] + c - h.mincode[l]
			if i >= 0 && int(i) < len(h.vals) {
				return h.vals[i]
			}
			return 0
		}
	}
	// No code matches: libjpeg warns and returns 0 after consuming 16 bits.
	d.take(16)
	return 0
}

func (d *jpegDecoder) decodeBaseline(c *jpegComp, blk []int16) {
	t := int(d.huff(d.dc[c.td]))
	c.pred += d.extend(t)
	blk[0] = int16(c.pred)
	ac := d.ac[c.ta]
	for k := 1; k < 64; k++ {
		rs := d.huff(ac)
		r, s := int(rs>>4), int(rs&15)
		if s == 0 {
			if r != 15 {
				break
			}
			k += 15
			continue
		}
		k += r
		blk[zigzag[min(k, 79)]] = int16(d.extend(s))
	}
}

func (d *jpegDecoder) decodeACFirst(c *jpegComp, blk []int16, ss, se, al int) {
	if d.eobrun > 0 {
		d.eobrun--
		return
	}
	ac := d.ac[c.ta]
	for k := ss; k <= se; k++ {
		rs := d.huff(ac)
		r, s := int(rs>>4), int(rs&15)
		if s == 0 {
			if r != 15 {
				d.eobrun = 1<<r - 1
				if r > 0 {
					d.eobrun += int(d.bits(r))
				}
				return
			}
			k += 15
			continue
		}
		k += r
		blk[zigzag[min(k, 79)]] = int16(d.extend(s) << al)
	}
}

// decodeACRefine is successive-approximation refinement (JPEG G.1.2.3):
// each already-nonzero coefficient passed over gets one correction bit.
func (d *jpegDecoder) decodeACRefine(c *jpegComp, blk []int16, ss, se, al int) {
	p1, m1 := int16(1)<<al, int16(-1)<<al
	correct := func(pos uint8) {
		if d.bits(1) != 0 && blk[pos]&p1 == 0 {
			if blk[pos] >= 0 {
				blk[pos] += p1
			} else {
				blk[pos] += m1
			}
		}
	}
	k := ss
	if d.eobrun == 0 {
		ac := d.ac[c.ta]
		for ; k <= se; k++ {
			rs := d.huff(ac)
			r, s := int(rs>>4), int(rs&15)
			var val int16
			if s != 0 {
				val = m1
				if d.bits(1) != 0 {
					val = p1
				}
			} else if r != 15 {
				d.eobrun = 1 << r
				if r > 0 {
					d.eobrun += int(d.bits(r))
				}
				break
			}
			for ; k <= se; k++ {
				pos := zigzag[k]
				if blk[pos] != 0 {
					correct(pos)
				} else {
					if r == 0 {
						break
					}
					r--
				}
			}
			if val != 0 {
				blk[zigzag[min(k, 79)]] = val
			}
		}
	}
	if d.eobrun > 0 {
		for ; k <= se; k++ {
			if pos := zigzag[k]; blk[pos] != 0 {
				correct(pos)
			}
		}
		d.eobrun--
	}
}

// output runs the IDCT on every block and upsamples each component to full
// resolution.
func (d *jpegDecoder) output() *jpegPlanes {
	out := &jpegPlanes{w: d.w, h: d.h}
	var ws [64]int32
	for _, c := range d.comps {
		stride := c.bw * 8
		plane := make([]uint8, stride*c.bh*8)
		q := &d.qt[c.tq]
		for by := range c.bh {
			for bx := range c.bw {
				blk := c.coef[(by*c.bw+bx)*64:]
				idctIslow(plane[by*8*stride+bx*8:], stride, blk[:64], q, &ws)
			}
		}
		out.planes = append(out.planes, upsampleBy(plane, stride, c.w, c.ht, d.w, d.h, d.hmax/c.h, d.vmax/c.v))
	}
	switch len(d.comps) {
	case 1:
		out.colorSpace = jpegGray
	case 3:
		out.colorSpace = jpegYCbCr
		ids := [3]int{d.comps[0].id, d.comps[1].id, d.comps[2].id}
		switch {
		case d.jfif:
		case d.adobe:
			if d.adobeXform == 0 {
				out.colorSpace = jpegRGB
			}
		case ids == [3]int{'R', 'G', 'B'}:
			out.colorSpace = jpegRGB
		}
	case 4:
		out.colorSpace = jpegCMYK
		if d.adobe && d.adobeXform != 0 {
			out.colorSpace = jpegYCCK
		}
	}
	return out
}

// The islow IDCT (libjpeg's jidctint.c algorithm: Loeffler-Ligtenberg-
// Moschytz with 13-bit constants, 2 extra bits between the passes).
const (
	idctConstBits  = 13
	idctPass1Bits  = 2
	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

// idct1D is one 8-point inverse DCT on in[0], in[s], ..., in[7s]; it returns
// the eight outputs before the final descaling.
func idct1D(x0, x1, x2, x3, x4, x5, x6, x7 int32) (o [8]int32) {
	z1 := (x2 + x6) * fix0_541196100
	t2 := z1 - x6*fix1_847759065
	t3 := z1 + x2*fix0_765366865
	t0 := (x0 + x4) << idctConstBits
	t1 := (x0 - x4) << idctConstBits
	t10, t13 := t0+t3, t0-t3
	t11, t12 := t1+t2, t1-t2

	a0, a1, a2, a3 := x7, x5, x3, x1
	z1 = a0 + a3
	z2 := a1 + a2
	z3 := a0 + a2
	z4 := a1 + a3
	z5 := (z3 + z4) * fix1_175875602
	a0 *= fix0_298631336
	a1 *= fix2_053119869
	a2 *= fix3_072711026
	a3 *= fix1_501321110
	z1 *= -fix0_899976223
	z2 *= -fix2_562915447
	z3 = z3*-fix1_961570560 + z5
	z4 = z4*-fix0_390180644 + z5
	a0 += z1 + z3
	a1 += z2 + z4
	a2 += z2 + z3
	a3 += z1 + z4
	return [8]int32{t10 + a3, t11 + a2, t12 + a1, t13 + a0, t13 - a0, t12 - a1, t11 - a2, t10 - a3}
}

func descale(x int32, n uint) int32 { return (x + 1<<(n-1)) >> n }

// idctIslow transforms one dequantised block into 8x8 samples. A column or
// row whose AC terms are all zero takes a shortcut that gives the same
// result (the transform of a constant is that constant, exactly).
func idctIslow(dst []uint8, stride int, blk []int16, q *[64]uint16, ws *[64]int32) {
	for c := range 8 {
		var x [8]int32
		ac := int16(0)
		for r := range 8 {
			x[r] = int32(blk[8*r+c]) * int32(q[8*r+c])
			if r > 0 {
				ac |= blk[8*r+c]
			}
		}
		if ac == 0 {
			v := x[0] << idctPass1Bits
			for r := range 8 {
				ws[8*r+c] = v
			}
			continue
		}
		o := idct1D(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7])
		for r := range 8 {
			ws[8*r+c] = descale(o[r], idctConstBits-idctPass1Bits)
		}
	}
	for r := range 8 {
		w := ws[8*r : 8*r+8]
		row := dst[r*stride : r*stride+8]
		if w[1]|w[2]|w[3]|w[4]|w[5]|w[6]|w[7] == 0 {
			v := clamp8(descale(w[0], idctPass1Bits+3) + 128)
			for i := range row {
				row[i] = v
			}
			continue
		}
		o := idct1D(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7])
		for i := range 8 {
			row[i] = clamp8(descale(o[i], idctConstBits+idctPass1Bits+3) + 128)
		}
	}
}

// jpegToRGB applies libjpeg's colour conversion (YCbCr tables, YCCK to CMYK)
// and then the CMYK formula of the reference decoder.
func jpegToRGB(p *jpegPlanes, style CMYKStyle) *RGB {
	out := NewRGB(p.w, p.h)
	d := out.Pix
	n := p.w * p.h
	pl := p.planes
	switch p.colorSpace {
	case jpegGray:
		for i := range n {
			v := pl[0][i]
			d[3*i], d[3*i+1], d[3*i+2] = v, v, v
		}
	case jpegRGB:
		for i := range n {
			d[3*i], d[3*i+1], d[3*i+2] = pl[0][i], pl[1][i], pl[2][i]
		}
	case jpegYCbCr:
		for i := range n {
			d[3*i], d[3*i+1], d[3*i+2] = yccToRGB(pl[0][i], pl[1][i], pl[2][i])
		}
	case jpegCMYK:
		// Adobe CMYK is stored inverted (255 = no ink).
		for i := range n {
			k := 255 - pl[3][i]
			d[3*i] = cmykToRGB(255-pl[0][i], k, style)
			d[3*i+1] = cmykToRGB(255-pl[1][i], k, style)
			d[3*i+2] = cmykToRGB(255-pl[2][i], k, style)
		}
	case jpegYCCK:
		// libjpeg turns YCC into inverted CMY (255 - RGB); un-inverting
		// leaves the RGB values as the ink amounts.
		for i := range n {
			r, g, b := yccToRGB(pl[0][i], pl[1][i], pl[2][i])
			k := 255 - pl[3][i]
			d[3*i], d[3*i+1], d[3*i+2] = cmykToRGB(r, k, style), cmykToRGB(g, k, style), cmykToRGB(b, k, style)
		}
	}
	return out
}
