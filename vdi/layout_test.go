package vdi

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
)

// TestReadVirtualBoxLayout reads a disk laid out the way VirtualBox lays
// out new images (its own pre-header text, a 0x190-byte header with the
// LCHS geometry, data aligned to 1 MiB, blocks out of virtual order, a
// discarded block) and checks that qemu-img and Reader see the same disk.
func TestReadVirtualBoxLayout(t *testing.T) {
	const (
		blocks     = 6
		offsetData = 1 << 20
	)
	size := int64(blocks*mib - 4096)
	img := make([]byte, offsetData+3*mib)
	raw := make([]byte, size)
	le := binary.LittleEndian
	h := header{
		imageType: typeDynamic, offsetBmap: headerSize, offsetData: offsetData,
		diskSize: uint64(size), blockSize: mib, blocksInImage: blocks, blocksAllocated: 3,
		uuidImage: [16]byte{1}, uuidLastSnap: [16]byte{2},
	}
	h.encode(img)
	copy(img, "<<< Oracle VM VirtualBox Disk Image >>>\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	le.PutUint32(img[0x48:], 0x190) // cbHeader of VDIHEADER1PLUS
	le.PutUint32(img[0x1c8:], 1000) // LCHSGeometry.cCylinders
	le.PutUint32(img[0x1cc:], 16)   // LCHSGeometry.cHeads
	le.PutUint32(img[0x1d0:], 63)   // LCHSGeometry.cSectors
	le.PutUint32(img[0x1d4:], 512)  // LCHSGeometry.cbSector
	// Virtual block → slot: 0→2, 1 free, 2→0, 3 discarded, 4 free, 5→1.
	bmap := []uint32{2, bmapFree, 0, bmapZero, bmapFree, 1}
	for i, v := range bmap {
		le.PutUint32(img[headerSize+4*i:], v)
		if v >= blocks {
			continue
		}
		for j := range mib {
			pos := int64(i)*mib + int64(j)
			if pos >= size {
				break
			}
			c := byte(pos*7/3) | 1
			img[offsetData+int(v)*mib+j] = c
			raw[pos] = c
		}
	}
	dir := t.TempDir()
	ip, rp := filepath.Join(dir, "vbox.vdi"), filepath.Join(dir, "vbox.raw")
	if err := os.WriteFile(ip, img, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rp, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	oracle.QemuImgCheck(t, ip)
	oracle.QemuImgCompareAs(t, rp, "raw", ip, "vdi")
	r, _ := openImage(t, ip)
	checkSameBytes(t, r, rp)
}
