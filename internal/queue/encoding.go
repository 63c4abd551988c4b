package queue

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// encodeText turns message bytes into queue message text, as the Azure
// Storage SDK does for the app's messageEncoding.
func encodeText(body []byte, enc Encoding) []byte {
	if enc != Base64 {
		return body
	}
	out := make([]byte, base64.StdEncoding.EncodedLen(len(body)))
	base64.StdEncoding.Encode(out, body)
	return out
}

// decodeText turns queue message text back into bytes. Under base64 it
// follows .NET Convert.FromBase64String: standard alphabet, padding
// required, spaces, tabs, CR and LF ignored anywhere.
func decodeText(text []byte, enc Encoding) ([]byte, error) {
	if enc != Base64 {
		return text, nil
	}
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, string(text))
	body, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("message text is not valid base64: %w", err)
	}
	return body, nil
}
