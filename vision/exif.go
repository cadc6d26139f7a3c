package vision

import (
	"bytes"
	"encoding/binary"
)

// maxJPEGSegments bounds the marker walk so a crafted file of empty segments
// cannot make the orientation lookup slow.
const maxJPEGSegments = 1024

// maxIFDEntries bounds the IFD0 scan; real files have a few dozen entries.
const maxIFDEntries = 512

// JPEGOrientation returns the EXIF orientation (1..8) stored in a JPEG's APP1
// segment, or 1 when there is none or it is malformed. Only the segments
// before the first scan are read.
func JPEGOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return 1
	}
	p := 2
	for range maxJPEGSegments {
		// Markers may be preceded by any number of 0xff fill bytes.
		for p < len(b) && b[p] == 0xff && p+1 < len(b) && b[p+1] == 0xff {
			p++
		}
		if p+4 > len(b) || b[p] != 0xff {
			return 1
		}
		marker := b[p+1]
		if marker == 0xda || marker == 0xd9 { // start of scan, end of image
			return 1
		}
		if marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7) { // no length
			p += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(b[p+2:]))
		if n < 2 || p+2+n > len(b) {
			return 1
		}
		seg := b[p+4 : p+2+n]
		if marker == 0xe1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return ExifOrientation(seg[6:])
		}
		p += 2 + n
	}
	return 1
}

// maxPNGChunks bounds the chunk walk of PNGOrientation.
const maxPNGChunks = 4096

// PNGOrientation returns the orientation in a PNG's eXIf chunk (before the
// image data, where decoders read it), or 1.
func PNGOrientation(b []byte) int {
	const sig = "\x89PNG\r\n\x1a\n"
	if !bytes.HasPrefix(b, []byte(sig)) {
		return 1
	}
	p := len(sig)
	for range maxPNGChunks {
		if p+8 > len(b) {
			return 1
		}
		n := uint64(binary.BigEndian.Uint32(b[p:]))
		typ := string(b[p+4 : p+8])
		if uint64(p)+12+n > uint64(len(b)) || typ == "IDAT" || typ == "IEND" {
			return 1
		}
		if typ == "eXIf" {
			data := b[p+8 : p+8+int(n)]
			return ExifOrientation(bytes.TrimPrefix(data, []byte("Exif\x00\x00")))
		}
		p += 12 + int(n)
	}
	return 1
}

// ExifOrientation reads tag 0x0112 from IFD0 of a TIFF-structured EXIF block
// (the bytes after "Exif\0\0"). It returns 1 for anything missing, malformed
// or out of range.
func ExifOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := bo.Uint32(t[4:])
	if off < 8 || uint64(off)+2 > uint64(len(t)) {
		return 1
	}
	n := int(bo.Uint16(t[off:]))
	p := int(off) + 2
	for i := 0; i < n && i < maxIFDEntries; i++ {
		e := p + 12*i
		if e+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		typ, count := bo.Uint16(t[e+2:]), bo.Uint32(t[e+4:])
		if typ != 3 || count != 1 { // SHORT, one value, stored inline
			return 1
		}
		if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}

// Orient applies an EXIF orientation so the result is upright. Orientations
// 5..8 swap width and height. Values outside 2..8 return m unchanged.
func Orient(m *RGB, orientation int) *RGB {
	if orientation < 2 || orientation > 8 {
		return m
	}
	W, H := m.W, m.H
	dw, dh := W, H
	if orientation >= 5 {
		dw, dh = H, W
	}
	out := NewRGB(dw, dh)
	for y := 0; y < dh; y++ {
		for x := 0; x < dw; x++ {
			var sx, sy int
			switch orientation {
			case 2:
				sx, sy = W-1-x, y
			case 3:
				sx, sy = W-1-x, H-1-y
			case 4:
				sx, sy = x, H-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, H-1-x
			case 7:
				sx, sy = W-1-y, H-1-x
			case 8:
				sx, sy = W-1-y, x
			}
			s, d := 3*(sy*W+sx), 3*(y*dw+x)
			copy(out.Pix[d:d+3], m.Pix[s:s+3])
		}
	}
	return out
}
