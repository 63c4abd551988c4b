package region

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func payloadApp() testApp {
	return testApp{name: "shop", functions: map[string]string{
		"items": httpFn("anonymous", "items/{id:int}/{*rest}", "get", "post"),
	}}
}

// TestPayloadModeShapes compares the exact Data and Metadata a handler gets.
func TestPayloadModeShapes(t *testing.T) {
	tr := startRegion(t, nil, payloadApp())
	resp := tr.do("POST", "/api/items/42/a/b?x=1&x=2&y=z", "", `{"hello":"world"}`, "X-Multi", "1", "X-Multi", "2")
	if resp.code != 200 {
		t.Fatalf("status %d: %s", resp.code, resp.body)
	}
	got := resp.json(t)
	payload := got["payload"].(map[string]any)
	req := payload["Data"].(map[string]any)["req"].(map[string]any)
	headers := req["Headers"].(map[string]any)
	if canon(t, headers["X-Multi"]) != `["1","2"]` {
		t.Errorf("Headers.X-Multi = %v", headers["X-Multi"])
	}
	delete(req, "Headers")
	want := map[string]any{
		"Url": tr.URL() + "/api/items/42/a/b?x=1&x=2&y=z", "Method": "POST",
		"Query": map[string]any{"x": "1,2", "y": "z"}, "Params": map[string]any{"id": "42", "rest": "a/b"},
		"Identities": []any{}, "Body": `{"hello":"world"}`,
	}
	if canon(t, req) != canon(t, want) {
		t.Errorf("Data.req\n got %s\nwant %s", canon(t, req), canon(t, want))
	}
	md := payload["Metadata"].(map[string]any)
	if md["id"] != `"42"` || md["rest"] != `"a/b"` || canon(t, md["Query"]) != `{"x":"1,2","y":"z"}` {
		t.Errorf("Metadata %s", canon(t, md))
	}
	sys := md["sys"].(map[string]any)
	if sys["MethodName"] != "items" || len(sys["RandGuid"].(string)) != 36 {
		t.Errorf("sys %v", sys)
	}
	if got["userAgent"] != "Azure-Functions-Host/4.1040.0" || got["invocationId"] != resp.header.Get("X-Azure-Functions-InvocationId") {
		t.Errorf("headers: %v, invocation id %q vs %q", got["userAgent"], got["invocationId"], resp.header.Get("X-Azure-Functions-InvocationId"))
	}
}

func TestPayloadModeOutputsAndFailures(t *testing.T) {
	app := testApp{name: "shop", functions: map[string]string{
		"created": httpFn("anonymous", ""), "ret": retFn(), "broken": httpFn("anonymous", ""),
		"garbage": httpFn("anonymous", ""), "nores": httpFn("anonymous", ""),
	}, settings: map[string]string{
		"REPLY_created": `{"Outputs":{"res":{"statusCode":"201","body":{"made":true},"headers":{"Location":"/x"}}},"Logs":["made it"]}`,
		"REPLY_ret":     `{"ReturnValue":{"statusCode":418,"body":"teapot"}}`,
		"REPLY_broken":  `status:500`,
		"REPLY_garbage": `not json at all`,
		"REPLY_nores":   `{"Outputs":{}}`,
	}}
	tr := startRegion(t, nil, app)
	cases := []struct {
		path, body, header, value string
		code                      int
	}{
		{"/api/created", `{"made":true}`, "Location", "/x", 201},
		{"/api/ret", "teapot", "", "", 418},
		{"/api/nores", "", "", "", 204},
	}
	for _, c := range cases {
		r := tr.do("GET", c.path, "", "")
		if r.code != c.code || strings.TrimSpace(string(r.body)) != c.body || (c.header != "" && r.header.Get(c.header) != c.value) {
			t.Errorf("%s: %d %q %v", c.path, r.code, r.body, r.header)
		}
	}
	for _, path := range []string{"/api/broken", "/api/garbage"} {
		r := tr.do("GET", path, "", "")
		body := r.json(t)
		if r.code != 500 || body["invocationId"] == nil || body["invocationId"] != r.header.Get("X-Azure-Functions-InvocationId") {
			t.Errorf("%s: %d %s", path, r.code, r.body)
		}
	}
}

func retFn() string {
	return `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous"},{"type":"http","direction":"out","name":"$return"}]}`
}

func TestForwardingMode(t *testing.T) {
	app := testApp{name: "fwd", forward: true, functions: map[string]string{
		"hello": httpFn("anonymous", "hello/{name?}"),
	}}
	tr := startRegion(t, nil, app)
	r := tr.do("PUT", "/api/hello/bob?a=1&a=2", "", "raw body", "X-Custom", "v")
	if r.code != 200 || r.header.Get("X-Echo") != "forwarded" {
		t.Fatalf("%d %s", r.code, r.body)
	}
	got := r.json(t)
	hdr := got["headers"].(map[string]any)
	if got["method"] != "PUT" || got["path"] != "/api/hello/bob" || got["query"] != "a=1&a=2" || got["body"] != "raw body" {
		t.Errorf("forwarded %v", got)
	}
	if canon(t, hdr["X-Custom"]) != `["v"]` || hdr["X-Azure-Functions-Invocationid"] == nil {
		t.Errorf("headers %v", hdr)
	}
	if id := hdr["X-Azure-Functions-Invocationid"].([]any)[0]; len(id.(string)) != 36 {
		t.Errorf("invocation id %v", id)
	}
}

func TestRouteForms(t *testing.T) {
	empty := ""
	app := testApp{name: "routes", forward: true, prefix: &empty, functions: map[string]string{
		"byint":    httpFn("anonymous", "n/{id:int}"),
		"byguid":   httpFn("anonymous", "n/{id:guid}"),
		"byalpha":  httpFn("anonymous", "n/{id:alpha}"),
		"optional": httpFn("anonymous", "opt/{name?}"),
		"catchall": httpFn("anonymous", "files/{*path}"),
		"literal":  httpFn("anonymous", "n/ping"),
		"getonly":  httpFn("anonymous", "m", "get"),
		"postonly": httpFn("anonymous", "m", "post"),
		"Default":  httpFn("anonymous", ""),
	}, settings: map[string]string{"ECHO_FORWARD_PREFIX": "/"}}
	tr := startRegion(t, nil, app)
	cases := []struct{ method, path, fn string }{
		{"GET", "/n/17", "byint"},
		{"GET", "/n/3f2504e0-4f89-11d3-9a0c-0305e82c3301", "byguid"},
		{"GET", "/n/abc", "byalpha"},
		{"GET", "/n/ping", "literal"},
		{"GET", "/opt", "optional"},
		{"GET", "/opt/x", "optional"},
		{"GET", "/files/a/b/c.txt", "catchall"},
		{"GET", "/m", "getonly"},
		{"POST", "/m", "postonly"},
		{"GET", "/default", "Default"},
		{"GET", "/n/12ab", ""},
		{"DELETE", "/m", ""},
		{"GET", "/nothing/here", ""},
	}
	for _, c := range cases {
		r := tr.do(c.method, c.path, "", "")
		if c.fn == "" {
			if r.code != 404 {
				t.Errorf("%s %s: %d, want 404", c.method, c.path, r.code)
			}
			continue
		}
		if r.code != 200 || r.json(t)["path"] != c.path {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.code, r.body)
		}
	}
}

func TestFunctionTimeout(t *testing.T) {
	app := testApp{name: "slow", forward: true, timeout: "00:00:00.5", functions: map[string]string{"slow": httpFn("anonymous", "")}}
	tr := startRegion(t, nil, app)
	start := time.Now()
	r := tr.do("GET", "/api/slow?sleep=5000", "", "")
	if r.code != 500 || !strings.Contains(string(r.body), "timed out") || time.Since(start) > 4*time.Second {
		t.Fatalf("%d %s after %v", r.code, r.body, time.Since(start))
	}
	if r2 := tr.do("GET", "/api/slow", "", ""); r2.code != 200 {
		t.Fatalf("after a timeout: %d", r2.code)
	}
}

func TestCrashAndRestart(t *testing.T) {
	app := testApp{name: "crashy", forward: true, functions: map[string]string{"c": httpFn("anonymous", "")}}
	tr := startRegion(t, nil, app)
	first := tr.do("GET", "/api/c", "", "").json(t)["pid"]
	r := tr.do("GET", "/api/c?crash=7", tr.master, "") // the master key is told why
	body := r.json(t)
	if r.code != 502 || !strings.Contains(body["error"].(string), "exit status 7") || body["invocationId"] == nil {
		t.Fatalf("crash: %d %s", r.code, r.body)
	}
	after := tr.do("GET", "/api/c", "", "")
	if after.code != 200 || after.json(t)["pid"] == first {
		t.Fatalf("after crash: %d %s", after.code, after.body)
	}
}

func TestScaleZeroAndOut(t *testing.T) {
	app := testApp{name: "scale", forward: true, functions: map[string]string{"s": httpFn("anonymous", "")}}
	tr := startRegion(t, func(o *Options) { o.IdleTimeout = 300 * time.Millisecond; o.ScaleOutAt = 2; o.MaxInstances = 3 }, app)
	pool := tr.apps["scale"].pool
	if pool.Stats().Instances != 0 {
		t.Fatal("instances before the first request")
	}
	pids := make(chan any, 12)
	for i := 0; i < 12; i++ {
		go func() { pids <- tr.do("GET", "/api/s?sleep=200", "", "").json(t)["pid"] }()
	}
	seen := map[any]bool{}
	for i := 0; i < 12; i++ {
		seen[<-pids] = true
	}
	if len(seen) < 2 || len(seen) > 3 {
		t.Fatalf("requests served by %d instances, want 2..3", len(seen))
	}
	eventually(t, "scale to zero", func() bool { s := pool.Stats(); return s.Instances+s.Starting == 0 })
}

func TestHealthAndMetrics(t *testing.T) {
	tr := startRegion(t, nil, payloadApp())
	h := tr.do("GET", "/healthz", "", "").json(t)
	if h["ready"] != true || h["region"] != "east" || h["role"] != "primary" {
		t.Fatalf("health %v", h)
	}
	tr.do("GET", "/api/items/1/x", "", "")
	m := tr.do("GET", "/metrics", "", "")
	if !strings.Contains(string(m.body), `tandem_function_invocations_total{app="shop",function="items",result="success"} 1`) {
		t.Fatalf("metrics lack the invocation:\n%s", m.body)
	}
	var usage struct {
		Total struct {
			Executions int     `json:"executions"`
			GBSeconds  float64 `json:"gbSeconds"`
			Cost       float64 `json:"cost"`
		} `json:"total"`
	}
	u := tr.admin("GET", "/admin/usage", "")
	if err := json.Unmarshal(u.body, &usage); err != nil || usage.Total.Executions != 1 || usage.Total.GBSeconds <= 0 || usage.Total.Cost <= 0 {
		t.Fatalf("usage %s %v", u.body, err)
	}
	if r := tr.do("GET", "/admin/usage", "", ""); r.code != http.StatusUnauthorized {
		t.Fatalf("admin without key: %d", r.code)
	}
}
