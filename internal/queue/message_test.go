package queue

import (
	"crypto/rand"
	"fmt"
	"testing"
)

// TestFormatGUIDAsBefore: the hand-written GUID form is the one
// fmt.Sprintf("%x-%x-%x-%x-%x") gave, so derived ids (poison copies,
// output retries) stay the same across versions.
func TestFormatGUIDAsBefore(t *testing.T) {
	for i := 0; i < 100; i++ {
		var b [16]byte
		_, _ = rand.Read(b[:])
		got := formatGUID(b, 8)
		b[6] = b[6]&0x0f | 8<<4
		b[8] = b[8]&0x3f | 0x80
		if want := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]); got != want {
			t.Fatalf("%s, want %s", got, want)
		}
	}
}
