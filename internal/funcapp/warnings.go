package funcapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Sections of host.json the Azure host knows. Tandem applies version,
// customHandler, httpWorker, functions, functionTimeout and
// extensions.http/queues; extensionBundle does not concern a custom
// handler; the others are said once at load as not applied.
var (
	appliedSections = map[string]bool{"version": true, "customhandler": true, "httpworker": true, "functions": true, "functiontimeout": true, "extensions": true, "retry": true, "extensionbundle": true}
	knownSections   = map[string]bool{"aggregator": true, "concurrency": true, "console": true, "healthmonitor": true, "logging": true,
		"manageddependency": true, "singleton": true, "telemetrymode": true, "watchdirectories": true, "watchfiles": true}
	appliedExtensions = map[string]bool{"http": true, "queues": true}
)

// hostWarnings lists what Tandem ignores in host.json.
func hostWarnings(data []byte) []string {
	var top map[string]json.RawMessage
	if json.Unmarshal(trimBOM(data), &top) != nil {
		return nil
	}
	var unknown, unapplied []string
	for k := range top {
		switch l := strings.ToLower(k); {
		case appliedSections[l]:
		case knownSections[l]:
			unapplied = append(unapplied, k)
		default:
			unknown = append(unknown, k)
		}
	}
	var ext map[string]json.RawMessage
	_ = json.Unmarshal(top["extensions"], &ext)
	for k := range ext {
		if !appliedExtensions[strings.ToLower(k)] {
			unapplied = append(unapplied, "extensions."+k)
		}
	}
	var out []string
	if len(unknown) > 0 {
		sort.Strings(unknown)
		out = append(out, fmt.Sprintf("host.json: unknown sections ignored: %s", strings.Join(unknown, ", ")))
	}
	if len(unapplied) > 0 {
		sort.Strings(unapplied)
		out = append(out, fmt.Sprintf("host.json: sections Tandem does not apply: %s", strings.Join(unapplied, ", ")))
	}
	return out
}

func trimBOM(b []byte) []byte { return []byte(strings.TrimPrefix(string(b), "\xef\xbb\xbf")) }

// fileWarnings lists files and settings Tandem ignores.
func (a *App) fileWarnings() []string {
	var out []string
	if _, err := os.Stat(filepath.Join(a.Root, "proxies.json")); !errors.Is(err, fs.ErrNotExist) {
		out = append(out, "proxies.json is ignored: Functions proxies were retired in runtime v4 (route with a function or a gateway in front)")
	}
	if a.Settings.LocalHTTPPort != 0 {
		out = append(out, fmt.Sprintf("local.settings.json: Host.LocalHttpPort %d is ignored: the region's HTTP address serves every app", a.Settings.LocalHTTPPort))
	}
	return out
}
