package vision

import (
	"encoding/binary"
	"image"
)

// gifInfo is what Pillow uses from a GIF beyond Go's decoded first frame:
// the raw colour table (Go blanks the transparent entry to black) and the
// transparent index, which also fills the canvas outside a first frame
// smaller than the logical screen (index 0 fills it when there is none).
type gifInfo struct {
	palette [][3]uint8
	trans   int // -1 when the first frame has none
}

// parseGIF walks the blocks before the first image descriptor. It returns
// false for anything malformed; the caller then keeps Go's conversion.
func parseGIF(b []byte) (gifInfo, bool) {
	info := gifInfo{trans: -1}
	if len(b) < 13 || (string(b[:6]) != "GIF87a" && string(b[:6]) != "GIF89a") {
		return info, false
	}
	table := func(p, flags int) ([][3]uint8, int, bool) {
		if flags&0x80 == 0 {
			return nil, p, true
		}
		n := 1 << (flags&7 + 1)
		if p+3*n > len(b) {
			return nil, p, false
		}
		t := make([][3]uint8, n)
		for i := range t {
			copy(t[i][:], b[p+3*i:])
		}
		return t, p + 3*n, true
	}
	global, p, ok := table(13, int(b[10]))
	if !ok {
		return info, false
	}
	for p < len(b) {
		switch b[p] {
		case 0x21: // extension: label, then sub-blocks
			if p+2 > len(b) {
				return info, false
			}
			label := b[p+1]
			p += 2
			if label == 0xf9 && p+5 < len(b) && b[p] == 4 && b[p+1]&1 != 0 {
				info.trans = int(b[p+4])
			}
			for p < len(b) && b[p] != 0 {
				p += int(b[p]) + 1
			}
			p++
		case 0x2c: // image descriptor
			if p+10 > len(b) {
				return info, false
			}
			local, _, ok := table(p+10, int(b[p+9]))
			if !ok {
				return info, false
			}
			info.palette = global
			if local != nil {
				info.palette = local
			}
			return info, info.palette != nil
		default:
			return info, false
		}
	}
	return info, false
}

// gifToRGB renders Go's first frame the way Pillow's convert("RGB") does: on
// the full logical screen, with the stored colour of every index.
func gifToRGB(b []byte, m *image.Paletted) *RGB {
	info, ok := parseGIF(b)
	if !ok || len(b) < 10 {
		return nil
	}
	sw, sh := int(binary.LittleEndian.Uint16(b[6:])), int(binary.LittleEndian.Uint16(b[8:]))
	if !m.Rect.In(image.Rect(0, 0, sw, sh)) {
		return nil
	}
	color := func(i int) [3]uint8 {
		if i < len(info.palette) {
			return info.palette[i]
		}
		return [3]uint8{}
	}
	out := NewRGB(sw, sh)
	fill := color(max(info.trans, 0))
	for i := 0; i < len(out.Pix); i += 3 {
		copy(out.Pix[i:i+3], fill[:])
	}
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		row := m.Pix[m.PixOffset(m.Rect.Min.X, y):]
		for x := m.Rect.Min.X; x < m.Rect.Max.X; x++ {
			c := color(int(row[x-m.Rect.Min.X]))
			copy(out.Pix[3*(y*sw+x):], c[:])
		}
	}
	return out
}
