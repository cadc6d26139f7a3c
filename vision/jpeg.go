package vision

import (
	"errors"
	"fmt"
	"image"
	"slices"
)

// A JPEG decoder that reproduces libjpeg-turbo's output (what OpenCV's
// imdecode and Pillow both link): Huffman-coded baseline, extended and
// progressive files, the "islow" integer IDCT, libjpeg's chroma upsampling and
// colour conversions, and libjpeg's scaled decoding (1/2, 1/4, 1/8) for draft
// mode. Go's image/jpeg uses a different IDCT, which costs up to 3 grey
// levels. Files this decoder does not handle (arithmetic coding, lossless,
// 12-bit) return errUnsupportedJPEG and go to image/jpeg instead. Like
// libjpeg, it reads a truncated entropy-coded segment as zero bits rather
// than failing.
//
// A single-scan sequential file, the common case, is decoded as a stream as
// libjpeg does it: each MCU's blocks go through the IDCT as soon as they are
// decoded, into two MCU rows of samples per component, and finished rows are
// upsampled and converted straight into the RGB image (in its EXIF
// orientation). Progressive and multi-scan files keep their coefficients
// until the last scan and then go through the same output stage.
//
// Asked for a region, the decoder still entropy-decodes every MCU above
// it (Huffman codes cannot be skipped) but stops after the last MCU row
// the region needs; see jpeg_out.go for the rest.

var errUnsupportedJPEG = errors.New("vision: jpeg variant not handled here")

// maxMCUBlocks is the JPEG limit on blocks in an interleaved MCU, which
// libjpeg enforces.
const maxMCUBlocks = 10

// zigzag maps the k-th coefficient in scan order to its position in the
// row-major 8x8 block; entries past 63 catch corrupt run lengths, as
// libjpeg's table does.
var zigzag = [128]uint8{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
	63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
	63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
	63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
	63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
}

type jpegComp struct {
	id, h, v, tq int
	td, ta       int
	bw, bh       int     // coefficient grid in blocks (whole MCUs)
	coef         []int16 // bw*bh blocks of 64, row-major within a block; multi-scan files only
	pred         int32
	out          compOutput
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
	streamed     bool // the image was produced while its only scan was decoded
	restart      int
	eobrun       int
	jfif, adobe  bool
	adobeXform   int
	opt          jpegOptions
	out          *jpegOutput
}

// jpegOptions are what the caller wants of the decoded image.
type jpegOptions struct {
	maxPixels   int64
	style       CMYKStyle
	orientation int // EXIF orientation to apply (1 = none)
	// draftShort, when positive, lets the decoder scale by 1/2, 1/4 or 1/8
	// while the short side stays at least draftShort.
	draftShort int
	// region, unless empty, is the part of the image to decode, in its
	// stored orientation, planned for an image of size (from its header);
	// the result is that part alone, in the EXIF orientation.
	region image.Rectangle
	size   image.Point
}

const (
	jpegGray = iota
	jpegYCbCr
	jpegRGB
	jpegCMYK
	jpegYCCK
)

func decodeJPEG(b []byte, opt jpegOptions) (*RGB, error) {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return nil, errors.New("vision: jpeg: missing SOI")
	}
	d := &jpegDecoder{b: b, p: 2, opt: opt}
	return d.decode()
}

// decode reads the file's segments from after the SOI marker.
func (d *jpegDecoder) decode() (*RGB, error) {
	b := d.b
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
			err = d.parseSOF(seg, marker == 0xc2)
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
			if err = d.parseSOS(seg, scans == 0); err == nil {
				scans++
			}
		}
		if err != nil {
			return nil, err
		}
		if d.streamed {
			break // libjpeg stops reading after the last scan of a sequential file
		}
	}
	if !d.frame || scans == 0 {
		return nil, errors.New("vision: jpeg: no image data")
	}
	if d.streamed {
		return d.out.img, nil
	}
	return d.outputStored()
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
		h, err := newHuffman(counts, s[17:17+total], tc == 1)
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

func (d *jpegDecoder) parseSOF(s []byte, progressive bool) error {
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
	if int64(d.w)*int64(d.h) > d.opt.maxPixels {
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
		c.bw, c.bh = d.mcusX*c.h, d.mcusY*c.v
	}
	d.frame = true
	return nil
}

func (d *jpegDecoder) parseSOS(s []byte, first bool) error {
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
		// The first component with this id that the scan has not named
		// yet, as libjpeg matches them: a component named twice would
		// leave another one out of a scan that claims to hold them all.
		var c *jpegComp
		for _, fc := range d.comps {
			if fc.id == id && !slices.Contains(comps, fc) {
				c = fc
				break
			}
		}
		if c == nil {
			return errors.New("vision: jpeg: scan names an unknown component, or one twice")
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
	if ns > 1 {
		blocks := 0
		for _, c := range comps {
			blocks += c.h * c.v
		}
		if blocks > maxMCUBlocks {
			return errors.New("vision: jpeg: too many blocks in an MCU") // libjpeg's limit too
		}
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
	// A sequential file whose first scan holds every component is decoded
	// as a stream; anything else keeps its coefficients for the end.
	stream := first && !d.progressive && ns == len(d.comps)
	if stream {
		if err := d.startOutput(); err != nil {
			return err
		}
	} else {
		for _, c := range d.comps {
			if c.coef == nil {
				if err := d.checkCoefMemory(); err != nil {
					return err
				}
				c.coef = make([]int16, c.bw*c.bh*64)
			}
		}
	}

	decode := func(c *jpegComp, bx, by int) {
		if d.short {
			return // libjpeg leaves the rest of a truncated segment zero (grey)
		}
		blk := (*[64]int16)(c.coef[(by*c.bw+bx)*64:])
		switch {
		case !d.progressive:
			d.decodeBaseline(c, blk)
			return
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
		d.checkShort()
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
	switch {
	case stream:
		d.streamScan(restartDue)
	case ns == 1:
		c := comps[0]
		bw, bh := (d.w*c.h+8*d.hmax-1)/(8*d.hmax), (d.h*c.v+8*d.vmax-1)/(8*d.vmax)
		for by := range bh {
			for bx := range bw {
				decode(c, bx, by)
				restartDue()
			}
		}
	default:
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
	d.streamed = stream
	return nil
}

// checkCoefMemory bounds what a multi-scan file may make the decoder hold:
// two bytes per coefficient, at most as much again as the RGB image.
func (d *jpegDecoder) checkCoefMemory() error {
	blocks := int64(0)
	for _, c := range d.comps {
		blocks += int64(c.bw) * int64(c.bh)
	}
	if blocks*64 > 3*d.opt.maxPixels+1<<20 {
		return fmt.Errorf("%w: %dx%d with %d components", ErrTooLarge, d.w, d.h, len(d.comps))
	}
	return nil
}

// streamScan decodes the MCUs of a single-scan sequential file, each MCU's
// blocks through the IDCT at once, and emits the finished rows after every
// MCU row.
func (d *jpegDecoder) streamScan(restartDue func()) {
	nblocks := 0
	for _, c := range d.comps {
		nblocks += c.h * c.v
	}
	mcu := make([]int16, 64*nblocks)
	var nonzero [maxMCUBlocks]bool
	o := d.out
	for my := range d.mcusY {
		for mx := range d.mcusX {
			if !d.short {
				i := 0
				for _, c := range d.comps {
					for range c.v * c.h {
						nonzero[i] = d.decodeBaseline(c, (*[64]int16)(mcu[64*i:]))
						i++
					}
				}
			}
			if o.needs(mx, my) {
				i := 0
				for _, c := range d.comps {
					for v := range c.v {
						c.out.transform(mcu[64*i:], nonzero[i:i+c.h], &d.qt[c.tq], mx*c.h, my*c.v+v)
						i += c.h
					}
				}
				o.mcusOut++
			}
			clear(mcu)
			restartDue()
		}
		o.emit(d, my+1)
		if o.done() {
			return // nothing below the region is needed
		}
	}
}

func (d *jpegDecoder) decodeACFirst(c *jpegComp, blk *[64]int16, ss, se, al int) {
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
		blk[zigzag[k&127]&63] = int16(d.extend(s) << al)
	}
}

// decodeACRefine is successive-approximation refinement (JPEG G.1.2.3):
// each already-nonzero coefficient passed over gets one correction bit.
func (d *jpegDecoder) decodeACRefine(c *jpegComp, blk *[64]int16, ss, se, al int) {
	p1, m1 := int16(1)<<al, int16(-1)<<al
	correct := func(pos uint8) {
		if d.bits(1) != 0 && blk[pos&63]&p1 == 0 {
			if blk[pos&63] >= 0 {
				blk[pos&63] += p1
			} else {
				blk[pos&63] += m1
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
				blk[zigzag[k&127]&63] = val
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

// outputStored runs the output stage over the coefficients of a multi-scan
// file, one MCU row at a time.
func (d *jpegDecoder) outputStored() (*RGB, error) {
	if err := d.startOutput(); err != nil {
		return nil, err
	}
	maxBW := 0
	for _, c := range d.comps {
		maxBW = max(maxBW, c.bw)
	}
	nonzero := make([]bool, maxBW)
	for i := range nonzero {
		nonzero[i] = true
	}
	o := d.out
	for my := o.mcuY0; my < d.mcusY && !o.done(); my++ {
		for _, c := range d.comps {
			bx0, bx1 := o.mcuX0*c.h, o.mcuX1*c.h
			for v := range c.v {
				by := my*c.v + v
				c.out.transform(c.coef[(by*c.bw+bx0)*64:], nonzero[:bx1-bx0], &d.qt[c.tq], bx0, by)
			}
		}
		o.mcusOut += o.mcuX1 - o.mcuX0
		o.emit(d, my+1)
	}
	return o.img, nil
}
