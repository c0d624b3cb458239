package vhd

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
)

// TestReadHyperVLayout reads a dynamic disk laid out unlike qemu's: a
// Hyper-V creator ("win ", sized by Current Size, which here is not a CHS
// product), 512 KiB blocks, the BAT at 0x2000, blocks 4 KiB-aligned and
// out of virtual order; qemu-img and Reader must see the same disk.
func TestReadHyperVLayout(t *testing.T) {
	const (
		bs       = 512 << 10
		entries  = 11
		batOff   = 0x2000
		firstBlk = 0x3000 - 512 // bitmap sector, then data on a 4 KiB boundary
	)
	size := int64(entries*bs - 1536)
	slots := []int{3, -1, 0, -1, -1, 2, -1, -1, -1, -1, 1} // virtual block → slot
	fileLen := int64(firstBlk) + 4*(512+bs) + footerSize
	img := make([]byte, fileLen)
	raw := make([]byte, size)
	be := binary.BigEndian

	cyl, heads, spt := geometry(size / 512)
	ft := footer{
		dataOffset: footerSize, timestamp: 12345, creatorApp: [4]byte{'w', 'i', 'n', ' '},
		creatorVersion: 0x000a0000, creatorHostOS: [4]byte{'W', 'i', '2', 'k'},
		originalSize: uint64(size), currentSize: uint64(size),
		cylinders: cyl, heads: heads, sectors: spt, diskType: diskDynamic, uuid: [16]byte{9},
	}
	if int64(cyl)*int64(heads)*int64(spt)*512 == size {
		t.Fatal("test needs a size that is not a CHS product")
	}
	ft.encode(img[:footerSize])
	ft.encode(img[fileLen-footerSize:])
	dh := dynHeader{tableOffset: batOff, maxTableEntries: entries, blockSize: bs}
	dh.encode(img[footerSize:])
	for i, s := range slots {
		if s < 0 {
			be.PutUint32(img[batOff+4*i:], batFree)
			continue
		}
		at := int64(firstBlk) + int64(s)*(512+bs)
		be.PutUint32(img[batOff+4*i:], uint32(at/512))
		img[at] = 0xff // bitmap: only some sectors marked; readers ignore it
		for j := int64(0); j < bs && int64(i)*bs+j < size; j++ {
			c := byte((int64(i)*bs+j)*5/7) | 1
			img[at+512+j] = c
			raw[int64(i)*bs+j] = c
		}
	}
	dir := t.TempDir()
	ip, rp := filepath.Join(dir, "hv.vhd"), filepath.Join(dir, "hv.raw")
	if err := os.WriteFile(ip, img, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rp, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := oracle.QemuImgAs(t, ip, "vpc").VirtualSize; got != size {
		t.Fatalf("qemu-img sees %d bytes, want %d", got, size)
	}
	oracle.QemuImgCompareAs(t, rp, "raw", ip, "vpc")
	r := openImage(t, ip)
	if r.Size() != size {
		t.Fatalf("Reader sees %d bytes, want %d", r.Size(), size)
	}
	checkSameBytes(t, r, rp)
}
