package grub

// GRUB's Reed-Solomon codes (grub-core/lib/reed_solomon.c): over GF(2^8)
// with the polynomial x^8+x^4+x^3+x^2+1 (0x11d), the data is cut into
// blocks of at most 200 sectors (data and codes together); within a
// block, byte i of every data sector forms one message whose code bytes
// go to byte i of the code sectors. The boot code's decoder reads the
// codes the same way; this encoder gives the bytes grub-bios-setup
// writes.

const (
	gfPolynomial = 0x1d
	rsMaxBlock   = 200 * SectorSize
)

var gfPow, gfLog = gfTables()

func gfTables() (pow [255 * 2]byte, log [256]int) {
	cur := byte(1)
	for i := range 255 {
		pow[i], pow[i+255] = cur, cur
		log[cur] = i
		if cur&0x80 != 0 {
			cur = cur<<1 ^ gfPolynomial
		} else {
			cur <<= 1
		}
	}
	return pow, log
}

func gfMul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfPow[gfLog[a]+gfLog[b]]
}

// addRedundancy fills buf[s:s+rs] with the codes of buf[:s].
func addRedundancy(buf []byte, s, rs int) {
	data, codes := buf[:s], buf[s:s+rs]
	for s > 0 && rs > 0 {
		cs, crs := s, rs
		if t := cs + crs; t > rsMaxBlock {
			cs = cs * (rsMaxBlock / SectorSize) / t * SectorSize
			crs = crs * (rsMaxBlock / SectorSize) / t * SectorSize
		}
		encodeBlock(data[:cs], codes[:crs])
		data, codes = data[cs:], codes[crs:]
		s -= cs
		rs -= crs
	}
}

// encodeBlock codes one block, column by column.
func encodeBlock(data, codes []byte) {
	s, rs := len(data), len(codes)
	for i := range SectorSize {
		ds := (s + SectorSize - 1 - i) / SectorSize
		rr := (rs + SectorSize - 1 - i) / SectorSize
		if ds == 0 || rr == 0 {
			continue
		}
		m := make([]byte, ds+rr)
		for j := range ds {
			m[j] = data[SectorSize*j+i]
		}
		rsEncode(m, ds, rr)
		for j := range rr {
			codes[SectorSize*j+i] = m[ds+j]
		}
	}
}

// rsEncode sets m[s:s+rs] to the remainder of m[:s]·x^rs divided by the
// generator (x-a^0)(x-a^1)…(x-a^(rs-1)), computed as reed_solomon.c does.
func rsEncode(m []byte, s, rs int) {
	g := make([]byte, rs+1)
	g[rs] = 1
	for j := range rs {
		for i := range rs {
			if g[i] != 0 {
				g[i] = g[i+1] ^ gfPow[j+gfLog[g[i]]]
			} else {
				g[i] = g[i+1]
			}
		}
		if g[rs] != 0 {
			g[rs] = gfPow[j+gfLog[g[rs]]]
		}
	}
	r := make([]byte, s+rs)
	copy(r, m[:s])
	for j := range s {
		if f := r[j]; f != 0 {
			for i := 0; i <= rs; i++ {
				r[i+j] ^= gfMul(g[i], f)
			}
		}
	}
	copy(m[s:], r[s:])
}
