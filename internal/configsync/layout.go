package configsync

import (
	"encoding/base64"
	"strings"
)

// The bucket layouts this package reads. The settings and keys layouts
// belong to internal/settings and internal/keys (see their cache.go);
// layout_test.go writes through those packages and checks that every entry
// decodes here, so a layout change there fails a test here.
//
//	<region>_settings   <app>.v.<name>   <app>.c.<name>   (<app>.seeded ignored)
//	<region>_keys       <app>.h.<name>   <app>.s.<name>   <app>.f.<fn>.<name>   (<app>.init.* ignored)
//	<region>_sync       owned.<app>.h.<name>  owned.<app>.s.<name>  owned.<app>.f.<fn>.<name>
//	                    config.exclude   (JSON array of globs)
//
// Names and function names are base64url without padding.

const (
	ownedPrefix = "owned."
	excludeKey  = "config.exclude"
)

// item is one decoded bucket entry name: an app and what it names.
type item struct {
	app string
	ref Ref
}

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func dec(s string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return string(b), err == nil && s != "" && len(b) > 0
}

// decodeSettingsKey decodes "<app>.v.<name>" or "<app>.c.<name>".
func decodeSettingsKey(key string) (item, bool) {
	t := strings.Split(key, ".")
	if len(t) != 3 || t[0] == "" {
		return item{}, false
	}
	name, ok := dec(t[2])
	if !ok {
		return item{}, false
	}
	switch t[1] {
	case "v":
		return item{app: t[0], ref: Ref{Class: ClassSetting, Name: name}}, true
	case "c":
		return item{app: t[0], ref: Ref{Class: ClassConnectionString, Name: name}}, true
	}
	return item{}, false
}

// decodeKeysKey decodes "<app>.h.<name>", "<app>.s.<name>" or
// "<app>.f.<fn>.<name>"; markers do not decode.
func decodeKeysKey(key string) (item, bool) {
	t := strings.Split(key, ".")
	if len(t) < 3 || t[0] == "" {
		return item{}, false
	}
	ref, ok := decodeScoped(t[1:])
	return item{app: t[0], ref: ref}, ok
}

// decodeScoped decodes ["h"|"s", name] or ["f", fn, name].
func decodeScoped(t []string) (Ref, bool) {
	switch {
	case len(t) == 2 && (t[0] == "h" || t[0] == "s"):
		name, ok := dec(t[1])
		c := ClassHostKey
		if t[0] == "s" {
			c = ClassSystemKey
		}
		return Ref{Class: c, Name: name}, ok
	case len(t) == 3 && t[0] == "f":
		fn, ok1 := dec(t[1])
		name, ok2 := dec(t[2])
		return Ref{Class: ClassFunctionKey, Function: fn, Name: name}, ok1 && ok2
	}
	return Ref{}, false
}

// scopedKey encodes a key reference as the keys layout's tail.
func scopedKey(r Ref) string {
	switch r.Class {
	case ClassSystemKey:
		return "s." + enc(r.Name)
	case ClassFunctionKey:
		return "f." + enc(r.Function) + "." + enc(r.Name)
	}
	return "h." + enc(r.Name)
}

// ownedKey is the sync bucket entry recording that app's key r is a copy.
func ownedKey(app string, r Ref) string { return ownedPrefix + app + "." + scopedKey(r) }

// decodeOwnedKey decodes an ownedKey.
func decodeOwnedKey(key string) (item, bool) {
	rest, ok := strings.CutPrefix(key, ownedPrefix)
	if !ok {
		return item{}, false
	}
	t := strings.Split(rest, ".")
	if len(t) < 3 || t[0] == "" {
		return item{}, false
	}
	ref, ok := decodeScoped(t[1:])
	return item{app: t[0], ref: ref}, ok
}
