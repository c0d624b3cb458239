package compressed

// crc32Combine returns the CRC-32 (IEEE) of A followed by B, given
// crc1 = CRC(A), crc2 = CRC(B) and n2 = len(B): zlib's crc32_combine,
// which applies "append n2 zero bytes" to crc1 as a matrix over GF(2),
// squared up from one zero bit.
func crc32Combine(crc1, crc2 uint32, n2 int64) uint32 {
	if n2 <= 0 {
		return crc1
	}
	var even, odd [32]uint32
	odd[0] = 0xedb88320 // the reflected polynomial: one zero bit
	row := uint32(1)
	for i := 1; i < 32; i++ {
		odd[i] = row
		row <<= 1
	}
	gf2Square(&even, &odd) // two zero bits
	gf2Square(&odd, &even) // four zero bits
	for {
		gf2Square(&even, &odd) // first: one zero byte
		if n2&1 != 0 {
			crc1 = gf2Times(&even, crc1)
		}
		if n2 >>= 1; n2 == 0 {
			break
		}
		gf2Square(&odd, &even)
		if n2&1 != 0 {
			crc1 = gf2Times(&odd, crc1)
		}
		if n2 >>= 1; n2 == 0 {
			break
		}
	}
	return crc1 ^ crc2
}

func gf2Times(mat *[32]uint32, vec uint32) uint32 {
	var sum uint32
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat *[32]uint32) {
	for i := range mat {
		square[i] = gf2Times(mat, mat[i])
	}
}
