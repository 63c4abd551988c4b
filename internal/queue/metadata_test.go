package queue

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// normalize round-trips v through JSON and replaces sys.RandGuid, after
// checking that it is a GUID.
func normalize(t *testing.T, v any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if sys, ok := m["sys"].(map[string]any); ok {
		if g, _ := sys["RandGuid"].(string); !guidRE.MatchString(g) {
			t.Fatalf("sys.RandGuid %q is not a GUID", g)
		}
		sys["RandGuid"] = "RANDOM"
	}
	return m
}

// TestMetadataMatchesHostCapture rebuilds a metadata object recorded from
// a real Azure Functions host and compares it key by key.
func TestMetadataMatchesHostCapture(t *testing.T) {
	raw, err := os.ReadFile("testdata/host-capture-metadata.json")
	if err != nil {
		t.Fatal(err)
	}
	var capture struct {
		Body, MethodName string
		UtcNow           time.Time
		Metadata         map[string]any
	}
	if err := json.Unmarshal(raw, &capture); err != nil {
		t.Fatal(err)
	}
	m := Message{
		ID: "4434c659-815f-434e-a851-f1df7b701f27", Body: []byte(capture.Body), DequeueCount: 5,
		InsertionTime:   time.Date(2024, 5, 10, 16, 13, 45, 300e6, time.UTC),
		ExpirationTime:  time.Date(2024, 5, 17, 16, 13, 45, 300e6, time.UTC),
		NextVisibleTime: time.Date(2024, 5, 10, 16, 23, 46, 0, time.UTC),
		PopReceipt:      "AgAAAAMAAAAAAAAAVqQNb/ai2gE=",
	}
	got := normalize(t, m.Metadata(capture.MethodName, capture.UtcNow))
	want := normalize(t, capture.Metadata)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("metadata differs from the host's\n got: %s\nwant: %s", g, w)
	}
}

func TestMetadataGolden(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 120000000, time.UTC)
	base := Message{
		ID: "0f8fad5b-d9cb-469f-a165-70867728950e", DequeueCount: 1,
		InsertionTime:   time.Date(2025, 1, 2, 3, 4, 0, 0, time.UTC),
		ExpirationTime:  time.Date(2025, 1, 9, 3, 4, 0, 0, time.UTC),
		NextVisibleTime: time.Date(2025, 1, 2, 3, 14, 5, 0, time.UTC),
		PopReceipt:      "AAAAAAAAAAEAAAAAAAAAAQ==",
	}
	bodies := map[string]string{
		"text":   "hello <world> & \"friends\"",
		"array":  `[1,2,3]`,
		"object": `{"id":"x","Name":"n","n":12,"f":1.50,"big":1e21,"small":0.000001,"ok":true,"no":null,"list":[1],"obj":{"a":[1,2]},"otherTrigger":"skip","at":"2024-04-06T15:30:00.5+02:00","sys":"user"}`,
	}
	got := map[string]any{}
	for name, body := range bodies {
		m := base
		m.Body = []byte(body)
		got[name] = normalize(t, m.Metadata("MyQueueFunction", now))
	}
	out, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "metadata.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(out)+"\n" {
		t.Fatalf("metadata differs from %s (run with -update after checking):\n%s", golden, out)
	}
}

func TestTriggerData(t *testing.T) {
	tests := []struct{ body, want, host string }{
		{`{"a":1}`, `{"a":1}`, `"\"{\\\"a\\\":1}\""`},
		{`hello`, `"hello"`, `"\"hello\""`},
		{`42`, `42`, `"\"42\""`},
		{``, `""`, `"\"\""`},
		{"<b>", `"\u003cb\u003e"`, `"\"\u003cb\u003e\""`},
	}
	for _, tt := range tests {
		m := Message{Body: []byte(tt.body)}
		if got := string(m.TriggerData()); got != tt.want {
			t.Errorf("TriggerData(%q) = %s, want %s", tt.body, got, tt.want)
		}
		if got := string(m.HostTriggerData()); got != tt.host {
			t.Errorf("HostTriggerData(%q) = %s, want %s", tt.body, got, tt.host)
		}
	}
}

func FuzzMetadata(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"t":"2024-04-06T15:30:00Z","n":1e400}`, `text`, `{"a":{"b":[1]},"a":2}`, `{"xTrigger":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		m := Message{ID: newID(), Body: []byte(body)}
		md := m.Metadata("F", time.Unix(0, 0))
		if _, err := json.Marshal(md); err != nil {
			t.Fatalf("metadata does not marshal: %v", err)
		}
		if !json.Valid(m.TriggerData()) || !json.Valid(m.HostTriggerData()) {
			t.Fatalf("trigger data is not JSON for %q", body)
		}
	})
}
