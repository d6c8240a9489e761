// Package hostile generates the hostile files that the tests feed to
// transfer: images that once crashed it or exhausted its memory, written
// byte by byte so that each test states exactly what it defends against.
// It is test support, never linked into the command.
package hostile

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
)

// EmptyFrameGIF is a 34-byte GIF whose logical screen is 8x8 but whose
// first (and only) frame is 0x8 pixels: Go's decoder returns an image with
// empty bounds, which resizers indexed out of range or divided by.
func EmptyFrameGIF() []byte {
	b := []byte("GIF89a")
	b = append(b, 8, 0, 8, 0, 0x80, 0, 0)          // screen 8x8, global table of 2 colours
	b = append(b, 0, 0, 0, 255, 255, 255)          // black, white
	b = append(b, 0x2C, 0, 0, 0, 0, 0, 0, 8, 0, 0) // frame at 0,0 of 0x8 pixels
	b = append(b, 2, 1, 0x2C, 0)                   // LZW: clear, end of information
	return append(b, 0x3B)                         // trailer
}

// BogusMarkerJPEG is good with a restart-interval (DRI) marker of length 2
// instead of 4 inserted just before its start of scan. A JFIF segment is added first when good lacks
// one, as cameras and most encoders (though not Go's) write it: Go's
// DecodeConfig then stops at the frame header and accepts the file, while
// libjpeg's header read fails with "Bogus marker length", and a
// decompressor reused after that failure read the next files as its
// continuation.
func BogusMarkerJPEG(good []byte) []byte {
	sos := bytes.Index(good, []byte{0xFF, 0xDA})
	if sos < 0 || len(good) < 4 {
		panic("hostile: BogusMarkerJPEG: not a JPEG with a start of scan")
	}
	out := append([]byte{}, good[:2]...)
	if !bytes.Equal(good[2:4], []byte{0xFF, 0xE0}) {
		out = append(out, jfif...)
	}
	out = append(out, good[2:sos]...)
	out = append(out, 0xFF, 0xDD, 0x00, 0x02)
	return append(out, good[sos:]...)
}

// jfif is an APP0 JFIF 1.01 segment: no units, 1:1 aspect, no thumbnail.
var jfif = []byte{0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}

// PNG16 is a w x h 16-bit RGBA PNG of transparent black: a few hundred KB
// on disk for 100 megapixels, 8 bytes per pixel once decoded.
func PNG16(w, h int) []byte {
	return pngOf(w, h, 16, 6, make([]byte, 1+8*w)) // filter byte, 8 bytes per pixel
}

// GrayPNG is a w x h 8-bit grayscale PNG of mid-gray: with w=1 and a large
// h, the tall, thin image whose resize once took gigabytes.
func GrayPNG(w, h int) []byte {
	row := make([]byte, 1+w)
	for i := 1; i < len(row); i++ {
		row[i] = 128
	}
	return pngOf(w, h, 8, 0, row)
}

// pngOf writes a PNG of h copies of row (filter byte included).
func pngOf(w, h int, depth, colorType byte, row []byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = depth, colorType
	chunk(&b, "IHDR", ihdr)
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	for y := 0; y < h; y++ {
		zw.Write(row)
	}
	zw.Close()
	chunk(&b, "IDAT", z.Bytes())
	chunk(&b, "IEND", nil)
	return b.Bytes()
}

// DeflateTIFF is a w x h 16-bit RGB TIFF in one deflate-compressed strip
// of zeros: Go's decoder holds the whole decompressed strip beside the
// decoded image.
func DeflateTIFF(w, h int) []byte {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zeros(zw, h, 6*w)
	zw.Close()
	le := binary.LittleEndian
	var b bytes.Buffer
	b.WriteString("II*\x00")
	const ifdOffset = 8
	binary.Write(&b, le, uint32(ifdOffset))
	type entry struct {
		tag, typ uint16
		count    uint32
		value    uint32
	}
	const nEntries = 9
	bitsOffset := uint32(ifdOffset + 2 + 12*nEntries + 4)
	dataOffset := bitsOffset + 6
	entries := []entry{
		{256, 4, 1, uint32(w)},       // ImageWidth
		{257, 4, 1, uint32(h)},       // ImageLength
		{258, 3, 3, bitsOffset},      // BitsPerSample 16,16,16
		{259, 3, 1, 8},               // Compression: deflate
		{262, 3, 1, 2},               // Photometric: RGB
		{273, 4, 1, dataOffset},      // StripOffsets
		{277, 3, 1, 3},               // SamplesPerPixel
		{278, 4, 1, uint32(h)},       // RowsPerStrip
		{279, 4, 1, uint32(z.Len())}, // StripByteCounts
	}
	binary.Write(&b, le, uint16(nEntries))
	for _, e := range entries {
		binary.Write(&b, le, e.tag)
		binary.Write(&b, le, e.typ)
		binary.Write(&b, le, e.count)
		if e.typ == 3 && e.count == 1 {
			binary.Write(&b, le, uint16(e.value))
			binary.Write(&b, le, uint16(0))
		} else {
			binary.Write(&b, le, e.value)
		}
	}
	binary.Write(&b, le, uint32(0)) // no next IFD
	binary.Write(&b, le, [3]uint16{16, 16, 16})
	b.Write(z.Bytes())
	return b.Bytes()
}

func chunk(b *bytes.Buffer, typ string, data []byte) {
	binary.Write(b, binary.BigEndian, uint32(len(data)))
	crc := crc32.NewIEEE()
	io.WriteString(crc, typ)
	crc.Write(data)
	b.WriteString(typ)
	b.Write(data)
	binary.Write(b, binary.BigEndian, crc.Sum32())
}

// zeros writes rows rows of n zero bytes.
func zeros(w io.Writer, rows, n int) {
	row := make([]byte, n)
	for y := 0; y < rows; y++ {
		w.Write(row)
	}
}
