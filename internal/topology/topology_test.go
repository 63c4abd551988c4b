package topology

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const minimal = `
regions:
  - {name: east, proxyURL: "http://127.0.0.1:7101", priority: 1, adminKeyEnv: EAST_KEY}
  - {name: west, proxyURL: "http://127.0.0.1:7201", priority: 2, adminKeyEnv: WEST_KEY}
traffic:
  listen: {http: "127.0.0.1:0", admin: "127.0.0.1:0"}
  adminKeyEnv: TANDEM_TRAFFIC_KEY
  profile: {name: app.tandem.local}
`

func TestLoadFull(t *testing.T) {
	top, err := Load(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	east, _ := top.Region("east")
	west, _ := top.Region("west")
	checks := []struct {
		name      string
		got, want any
	}{
		{"east admin", east.AdminURL, "http://127.0.0.1:7102"},
		{"east weight", east.Weight, 3},
		{"east enabled default", east.Enabled, true},
		{"west adminURL defaults to proxyURL", west.AdminURL, "http://west.example.net:7201"},
		{"west disabled", west.Enabled, false},
		{"app mode", top.Replication.AppMode("myapp"), "sync"},
		{"default app mode", top.Replication.AppMode("other"), "async"},
		{"interval", top.Traffic.Probes.Interval, 100 * time.Millisecond},
		{"tolerated 0 kept", top.Traffic.Probes.ToleratedFailures, 0},
		{"status", top.Traffic.Probes.ExpectedStatus, []StatusRange{{200, 299}, {418, 418}}},
		{"headers", top.Traffic.Probes.Headers, map[string]string{"Host": "probe.local", "X-Probe": "1"}},
		{"maxBody 0 kept", top.Traffic.Retry.MaxBodyBytes, int64(0)},
		{"attempts default", top.Traffic.Retry.Attempts, 3},
		{"lease", top.Traffic.Lease, 2 * time.Second},
		{"margin default", top.Traffic.LeaseMargin, time.Second},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	top, err := Parse([]byte(minimal + "  probes:\n"))
	if err != nil {
		t.Fatal(err)
	}
	tr := top.Traffic
	if top.Primary != "east" || tr.Routing != RoutingPriority || tr.Profile.TTL != 5*time.Second ||
		tr.Probes.Path != "/healthz" || tr.Probes.Interval != time.Second || tr.Probes.Rise != 2 ||
		tr.Probes.ToleratedFailures != 3 || !tr.Probes.Expects(204) || tr.Probes.Expects(503) ||
		tr.Passive.ConsecutiveFailures != 3 || tr.Retry.MaxBodyBytes != 1<<20 || top.Replication.Mode != "async" {
		t.Fatalf("defaults: %+v primary %s", tr, top.Primary)
	}
}

func TestErrorsNameTheField(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown field", minimal + "  routng: weighted\n", "traffic.routng: unknown field"},
		{"bad priority", strings.Replace(minimal, "priority: 2", "priority: 0", 1), "regions[1].priority: 0 is out of range"},
		{"duplicate priority", strings.Replace(minimal, "priority: 2", "priority: 1", 1), "regions[1].priority: 1 is already the priority"},
		{"duplicate name", strings.Replace(minimal, "name: west", "name: east", 1), `regions[1].name: "east" is used`},
		{"bad name", strings.Replace(minimal, "name: west", "name: we_st", 1), "regions[1].name: region name"},
		{"priority not a number", strings.Replace(minimal, "priority: 2", "priority: two", 1), "regions[1].priority: cannot unmarshal"},
		{"bad url", strings.Replace(minimal, `"http://127.0.0.1:7201"`, `"ftp://x"`, 1), "regions[1].proxyURL"},
		{"no key", strings.Replace(minimal, ", adminKeyEnv: WEST_KEY", "", 1), "regions[1].adminKeyFile: required"},
		{"unknown primary", minimal + "primary: north\n", `primary: "north" is not the name`},
		{"bad duration", minimal + "  lease: soon\n", `traffic.lease: "soon" is not a duration`},
		{"short lease", minimal + "  lease: 1s\n", "traffic.lease: 1s must be at least twice"},
		{"interval floor", minimal + "  probes: {interval: 50ms, timeout: 10ms}\n", "traffic.probes.interval: 50ms is below"},
		{"timeout over interval", minimal + "  probes: {timeout: 2s}\n", "traffic.probes.timeout"},
		{"status range", minimal + "  probes: {expectedStatus: [\"299-200\"]}\n", "traffic.probes.expectedStatus[0]"},
		{"header value", minimal + "  probes: {headers: {X-A: \"a\\nb\"}}\n", "traffic.probes.headers.X-A: value"},
		{"routing", minimal + "  routing: random\n", `traffic.routing: "random"`},
		{"ttl", strings.Replace(minimal, "{name: app.tandem.local}", "{name: app.tandem.local, ttl: 1500ms}", 1), "traffic.profile.ttl"},
		{"dns name", strings.Replace(minimal, "app.tandem.local", "app..local", 1), "traffic.profile.name"},
		{"listen", strings.Replace(minimal, `http: "127.0.0.1:0"`, `http: "nowhere"`, 1), "traffic.listen.http"},
		{"regions not a list", "regions: {a: 1}\n", "regions: expected a list"},
		{"repeated field", minimal + "  routing: weighted\n  routing: priority\n", "traffic.routing: field given twice"},
		{"replication mode", minimal + "replication: {apps: {my_app: fast}}\n", "replication.apps.my_app"},
		{"empty", "", "empty document"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestErrorCarriesLine(t *testing.T) {
	_, err := Parse([]byte(strings.Replace(minimal, "priority: 2", "priority: 0", 1)))
	if err == nil || !strings.Contains(err.Error(), "(line 4)") {
		t.Fatalf("err %v, want line 4", err)
	}
}

func TestResolveKey(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "k")
	if err := os.WriteFile(file, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TOPOLOGY_TEST_KEY", "envkey")
	cases := []struct {
		file, env, want string
		ok              bool
	}{
		{file, "", "s3cret", true},
		{"", "TOPOLOGY_TEST_KEY", "envkey", true},
		{"", "TOPOLOGY_TEST_UNSET", "", false},
		{filepath.Join(dir, "missing"), "", "", false},
	}
	for _, c := range cases {
		got, err := ResolveKey(c.file, c.env)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ResolveKey(%q,%q) = %q,%v", c.file, c.env, got, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error leaks the key: %v", err)
		}
	}
}

func FuzzParse(f *testing.F) {
	full, err := os.ReadFile(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{string(full), minimal, "regions: []", "a: *b", "regions: [{name: [1]}]", "traffic: {probes: {expectedStatus: [1-]}}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		top, err := Parse(data)
		if err != nil {
			return
		}
		if len(top.Regions) == 0 || top.Primary == "" || top.Traffic.Probes.Interval < 100*time.Millisecond {
			t.Fatalf("accepted an invalid topology: %+v", top)
		}
	})
}
