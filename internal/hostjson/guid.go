package hostjson

import (
	"encoding/binary"
	"math/rand/v2"
)

// NewGUID returns a random (version 4) GUID in its usual text form, lower
// case as .NET prints it. The 122 random bits come from math/rand/v2's
// per-thread ChaCha8 generator (seeded from the OS): unpredictable enough
// for invocation ids, which are not secrets, and one allocation instead of
// crypto/rand's system call and Sprintf's five.
func NewGUID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatGUID(&b)
}

const hexDigits = "0123456789abcdef"

// formatGUID writes b as 8-4-4-4-12 lower-case hex digits.
func formatGUID(b *[16]byte) string {
	var out [36]byte
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hexDigits[c>>4], hexDigits[c&0x0f]
		j += 2
	}
	return string(out[:])
}
