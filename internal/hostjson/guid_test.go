package hostjson

import "testing"

func TestFormatGUID(t *testing.T) {
	b := [16]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0x4d, 0xef, 0x80, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0xff}
	if got, want := formatGUID(&b), "01234567-89ab-4def-8011-2233445566ff"; got != want {
		t.Fatalf("formatGUID = %q, want %q", got, want)
	}
}
