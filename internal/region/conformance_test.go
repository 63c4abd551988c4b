package region

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/tandemhq/tandem/internal/testbin"
)

// The conformance suite runs the same handler, written from the public
// protocol in Go, Python and Node (testdata/conformance), as the Azure
// Functions host runs it, and compares what reached it, as parsed JSON,
// with what the host sends. A language whose runtime is not installed is
// skipped with a message naming the binary (CI has python3; node is
// optional).

// conformanceLang is one handler implementation.
type conformanceLang struct {
	name string
	exe  string   // executable (a path or a command on PATH)
	args []string // arguments before any test-specific ones
}

func conformanceLangs(t *testing.T) []conformanceLang {
	src := filepath.Join(testbin.ModuleRoot(), "testdata", "conformance")
	return []conformanceLang{
		{name: "go", exe: testbin.Build(t, "testdata/conformance/go")},
		{name: "python", exe: "python3", args: []string{filepath.Join(src, "python", "handler.py")}},
		{name: "node", exe: "node", args: []string{filepath.Join(src, "node", "handler.js")}},
	}
}

// eachLang runs f once per language, skipping a language whose runtime is
// absent.
func eachLang(t *testing.T, f func(t *testing.T, l conformanceLang)) {
	for _, l := range conformanceLangs(t) {
		t.Run(l.name, func(t *testing.T) {
			if _, err := exec.LookPath(l.exe); err != nil {
				t.Skipf("%s is not installed: the %s conformance handler cannot run (apt-get install %s)", l.exe, l.name, map[string]string{"python3": "python3", "node": "nodejs"}[l.exe])
			}
			f(t, l)
		})
	}
}

// capture is one request a conformance handler recorded.
type capture struct {
	Method       string            `json:"method"`
	Path         string            `json:"path"`
	InvocationID string            `json:"invocationId"`
	Body         any               `json:"body"`
	Env          map[string]string `json:"env"`
	Argv         []string          `json:"argv"`
	UID          int               `json:"uid"`
	Probe        string            `json:"probe"`
}

func readCaptures(t *testing.T, file string) []capture {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var out []capture
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var c capture
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			continue // a line being written
		}
		out = append(out, c)
	}
	return out
}

// waitCapture waits for the handler to record a request to path.
func waitCapture(t *testing.T, file, path string) capture {
	t.Helper()
	var got capture
	eventually(t, "a request to "+path, func() bool {
		for _, c := range readCaptures(t, file) {
			if c.Path == path {
				got = c
				return true
			}
		}
		return false
	})
	return got
}

// conformanceApp is a test app run by the language's handler, recording
// into a fresh capture file.
func conformanceApp(t *testing.T, l conformanceLang, name string, functions map[string]string, args ...string) (testApp, string) {
	capFile := filepath.Join(t.TempDir(), "captures.jsonl")
	return testApp{
		name: name, handler: l.exe, args: append(append([]string{}, l.args...), args...),
		settings:  map[string]string{"CAPTURE_FILE": capFile},
		functions: functions,
	}, capFile
}

var (
	guidPattern   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	utcNowPattern = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z$`)
	offsetPattern = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$`)
)

// normalizeSys checks sys's volatile values' formats and replaces them.
func normalizeSys(t *testing.T, md map[string]any) {
	t.Helper()
	sys, _ := md["sys"].(map[string]any)
	if sys == nil {
		t.Fatalf("Metadata has no sys object: %v", md)
	}
	if g, _ := sys["RandGuid"].(string); !guidPattern.MatchString(g) {
		t.Errorf("sys.RandGuid %q is not a lower-case GUID", g)
	}
	if u, _ := sys["UtcNow"].(string); !utcNowPattern.MatchString(u) {
		t.Errorf("sys.UtcNow %q is not Json.NET's UTC DateTime form", u)
	}
	sys["RandGuid"], sys["UtcNow"] = "<guid>", "<utcnow>"
}

// checkGolden compares v with the JSON in testdata/hostpayloads/<name>, as
// parsed values.
func checkGolden(t *testing.T, name string, v any) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join("testdata", "hostpayloads", name))
	if err != nil {
		t.Fatal(err)
	}
	var w any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if canon(t, v) != canon(t, w) {
		t.Errorf("payload differs from the host's (testdata/hostpayloads/%s)\n got %s\nwant %s", name, canon(t, v), canon(t, w))
	}
}
