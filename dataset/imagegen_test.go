package dataset_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// quadrants returns a w×h image whose top-left quadrant is red, top-right
// green, bottom-left blue and bottom-right white: a shape whose orientation
// and crop are easy to check.
func quadrants(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var c color.NRGBA
			switch {
			case x < w/2 && y < h/2:
				c = color.NRGBA{255, 0, 0, 255}
			case y < h/2:
				c = color.NRGBA{0, 255, 0, 255}
			case x < w/2:
				c = color.NRGBA{0, 0, 255, 255}
			default:
				c = color.NRGBA{255, 255, 255, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func encode(t testing.TB, format string, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "jpeg":
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 100})
	case "png":
		err = png.Encode(&b, img)
	case "gif":
		err = gif.Encode(&b, img, nil)
	case "bmp":
		err = bmp.Encode(&b, img)
	case "tiff":
		err = tiff.Encode(&b, img, nil)
	default:
		t.Fatalf("unknown format %s", format)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withOrientation inserts an EXIF APP1 segment holding the orientation tag
// (0x0112) right after a JPEG's SOI marker.
func withOrientation(jpg []byte, orientation uint16) []byte {
	var tiffData bytes.Buffer
	tiffData.WriteString("II*\x00")
	binary.Write(&tiffData, binary.LittleEndian, uint32(8)) // IFD0 offset
	binary.Write(&tiffData, binary.LittleEndian, uint16(1)) // one entry
	binary.Write(&tiffData, binary.LittleEndian, uint16(0x0112))
	binary.Write(&tiffData, binary.LittleEndian, uint16(3)) // SHORT
	binary.Write(&tiffData, binary.LittleEndian, uint32(1))
	binary.Write(&tiffData, binary.LittleEndian, orientation)
	binary.Write(&tiffData, binary.LittleEndian, uint16(0))
	binary.Write(&tiffData, binary.LittleEndian, uint32(0)) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiffData.Bytes()...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// bombPNG is a valid PNG signature and header declaring width×height pixels,
// with no pixel data: a decompression bomb's header.
func bombPNG(width, height uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], width)
	binary.BigEndian.PutUint32(ihdr[4:], height)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.WriteString("IHDR")
	b.Write(ihdr)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte("IHDR"), ihdr...)))
	return b.Bytes()
}

// near reports whether two colours differ by at most tol per channel.
func near(c color.Color, r, g, b uint8, tol int) bool {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	d := func(a, b uint8) bool { return abs(int(a)-int(b)) <= tol }
	return d(n.R, r) && d(n.G, g) && d(n.B, b)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
