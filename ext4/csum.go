package ext4

import "hash/crc32"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32cRaw continues a crc32c over p from c without the pre- and
// post-inversion hash/crc32 applies, as ext4's checksums are defined.
func crc32cRaw(c uint32, p []byte) uint32 {
	return ^crc32.Update(^c, castagnoli, p)
}
