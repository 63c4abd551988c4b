package funcapp

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// LocalSettings is local.settings.json: the seed for an app's settings.
type LocalSettings struct {
	Values            map[string]string
	ConnectionStrings map[string]string
	// CORS is the "Host" section's CORS and CORSCredentials, as Core Tools
	// applies them.
	CORS CORS
	// LocalHTTPPort is Host.LocalHttpPort (0: absent); Tandem ignores it.
	LocalHTTPPort int
}

// CORS is an app's cross-origin policy: allowed origins ("*" is any),
// and whether credentials are allowed. Any method and header are allowed,
// as the host's policy does (CorsOptionsSetup).
type CORS struct {
	Origins     []string
	Credentials bool
}

type rawHostSection struct {
	LocalHTTPPort   int    `json:"LocalHttpPort"`
	CORS            string `json:"CORS"`
	CORSCredentials bool   `json:"CORSCredentials"`
}

// ParseCORSSetting reads the app settings the host reads for a deployed
// app: CORS_ALLOWED_ORIGINS, a JSON array of origins, and
// CORS_SUPPORT_CREDENTIALS, a boolean (HostCorsOptionsSetup).
func ParseCORSSetting(origins, credentials string) (CORS, error) {
	var c CORS
	if strings.TrimSpace(origins) != "" {
		if err := json.Unmarshal([]byte(origins), &c.Origins); err != nil {
			return CORS{}, fmt.Errorf(`app setting CORS_ALLOWED_ORIGINS: want a JSON array such as ["https://example.com"]: %w`, err)
		}
	}
	if strings.TrimSpace(credentials) != "" {
		b, err := strconv.ParseBool(strings.TrimSpace(credentials))
		if err != nil {
			return CORS{}, fmt.Errorf("app setting CORS_SUPPORT_CREDENTIALS: %q is not true or false", credentials)
		}
		c.Credentials = b
	}
	return c, nil
}

// splitOrigins reads Host.CORS: origins separated by commas.
func splitOrigins(s string) []string {
	var out []string
	for _, o := range strings.Split(s, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

type rawLocalSettings struct {
	IsEncrypted       *bool             `json:"IsEncrypted"`
	Values            map[string]any    `json:"Values"`
	ConnectionStrings map[string]string `json:"ConnectionStrings"`
	Host              json.RawMessage   `json:"Host"`
}

// ParseLocalSettings parses local.settings.json; file names it in errors.
//
// Core Tools treats a file without IsEncrypted as encrypted. Tandem cannot
// decrypt (the key is the developer machine's), so it refuses IsEncrypted
// true, and a file without the field whose values all look like ciphertext
// (base64 of non-text bytes). A file without the field and with readable
// values is taken as plain text, as every public sample writes it.
func ParseLocalSettings(file string, data []byte) (LocalSettings, error) {
	var raw rawLocalSettings
	if err := decodeJSON(data, &raw); err != nil {
		return LocalSettings{}, fmt.Errorf("%s: %w", file, err)
	}
	values, err := stringValues(raw.Values)
	if err != nil {
		return LocalSettings{}, fmt.Errorf("%s: %w", file, err)
	}
	ls := LocalSettings{Values: values, ConnectionStrings: raw.ConnectionStrings}
	if len(raw.Host) > 0 && string(raw.Host) != "null" {
		var h rawHostSection
		if err := decodeJSON(raw.Host, &h); err != nil {
			return LocalSettings{}, fmt.Errorf("%s: field \"Host\": %w", file, err)
		}
		ls.CORS = CORS{Origins: splitOrigins(h.CORS), Credentials: h.CORSCredentials}
		ls.LocalHTTPPort = h.LocalHTTPPort
	}
	if ls.ConnectionStrings == nil {
		ls.ConnectionStrings = map[string]string{}
	}
	if err := checkEncryption(raw.IsEncrypted, ls); err != nil {
		return LocalSettings{}, fmt.Errorf("%s: %w", file, err)
	}
	return ls, nil
}

var errEncrypted = errors.New(`field "IsEncrypted": the file is encrypted with a key only the machine that encrypted it has; run 'func settings decrypt' there, or set IsEncrypted to false with plain values`)

func checkEncryption(flag *bool, ls LocalSettings) error {
	if flag != nil {
		if *flag {
			return errEncrypted
		}
		return nil
	}
	if looksEncrypted(ls) {
		return errEncrypted
	}
	return nil
}

// looksEncrypted reports whether every value is base64 of non-UTF-8 bytes,
// as DPAPI ciphertext is.
func looksEncrypted(ls LocalSettings) bool {
	n := 0
	for _, m := range []map[string]string{ls.Values, ls.ConnectionStrings} {
		for _, v := range m {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil || len(b) < 16 || utf8.Valid(b) {
				return false
			}
			n++
		}
	}
	return n > 0
}

// stringValues accepts strings, and numbers and booleans as Core Tools does
// (their JSON text); nested values are an error.
func stringValues(in map[string]any) (map[string]string, error) {
	out := make(map[string]string, len(in))
	for k, v := range in {
		switch x := v.(type) {
		case string:
			out[k] = x
		case bool, float64:
			b, _ := json.Marshal(x)
			out[k] = string(b)
		case nil:
			out[k] = ""
		default:
			return nil, fmt.Errorf("field %q: must be a string, number or boolean", "Values."+k)
		}
	}
	return out, nil
}
