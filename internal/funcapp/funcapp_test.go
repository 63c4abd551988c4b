package funcapp

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadApp(t *testing.T) {
	app, err := Load("", "testdata/app")
	if err != nil {
		t.Fatal(err)
	}
	if app.Name != "app" || app.Host.RoutePrefix != "v1" || app.Host.FunctionTimeout != 30*time.Second {
		t.Fatalf("host: %+v", app.Host)
	}
	want := QueueConfig{BatchSize: 4, NewBatchThreshold: -1, MaxPollingInterval: time.Minute, VisibilityTimeout: 2 * time.Second, MaxDequeueCount: 3, MessageEncoding: "none"}
	if app.Host.Queues != want {
		t.Fatalf("queues %+v", app.Host.Queues)
	}
	if !app.Host.Handler.ForwardHTTP || app.Host.MaxConcurrentRequests != 8 {
		t.Fatalf("handler %+v", app.Host.Handler)
	}
	if got := app.FunctionNames(); !reflect.DeepEqual(got, []string{"hello", "orders"}) {
		t.Fatalf("functions %v", got)
	}
	hello := app.Function("hello")
	trig := hello.Trigger()
	if trig.AuthLevel != "function" || trig.Route != "hello/{name?}" || !reflect.DeepEqual(trig.Methods, []string{"GET", "POST"}) || !hello.HTTPOnly() {
		t.Fatalf("hello trigger %+v", trig)
	}
	orders := app.Function("orders")
	if orders.HTTPOnly() || len(orders.Inputs()) != 1 || len(orders.Outputs()) != 1 || orders.Trigger().QueueName != "orders" {
		t.Fatalf("orders %+v", orders)
	}
	if app.Settings.Values["Retries"] != "3" || app.Settings.ConnectionStrings["Db"] != "Server=x" {
		t.Fatalf("settings %+v", app.Settings)
	}
}

func TestHostErrorsNameTheField(t *testing.T) {
	cases := []struct{ json, want string }{
		{`{}`, `field "version": must be "2.0", got missing`},
		{`{"version":"3.0"}`, `got "3.0"`},
		{`{"version":"2.0"}`, `field "customHandler": missing`},
		{`{"version":"2.0","customHandler":{"description":{}}}`, `customHandler.description.defaultExecutablePath": missing`},
		{`{"version":"2.0","httpWorker":{"description":{}}}`, `httpWorker.description.defaultExecutablePath": missing`},
		{`{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"h"}},"functionTimeout":"5 minutes"}`, `field "functionTimeout"`},
		{`{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"h"}},"extensions":{"queues":{"batchSize":64}}}`, `extensions.queues.batchSize": 64 is outside 1..32`},
		{`{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"h"}},"extensions":{"queues":{"maxDequeueCount":0}}}`, `maxDequeueCount": 0 is less than 1`},
		{`{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"h"}},"extensions":{"queues":{"messageEncoding":"utf7"}}}`, `messageEncoding": "utf7"`},
		{`{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"h"}},"extensions":{"queues":{"maxPollingInterval":"00:00:00.01"}}}`, `maxPollingInterval`},
		{`{"version":2}`, `field "version"`},
		{`{"version":"2.0",}`, `invalid JSON`},
	}
	for _, c := range cases {
		_, err := ParseHost("x/host.json", []byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "x/host.json: ") {
			t.Errorf("%s: err %v, want %q", c.json, err, c.want)
		}
	}
}

// TestHostDefaultsAndLegacyWorker: the legacy httpWorker section runs
// defaultExecutablePath with defaultWorkerPath as an argument (node
// server.js), forwards HTTP-only functions to /<FunctionName>, and needs
// defaultExecutablePath as the host does (HttpWorkerDescription).
func TestHostDefaultsAndLegacyWorker(t *testing.T) {
	h, err := ParseHost("host.json", []byte(`{"version":"2.0","functionTimeout":"-1","httpWorker":{"description":{"defaultExecutablePath":"node","defaultWorkerPath":"server.js","arguments":["--a"],"workerArguments":["--w"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	hd := h.Handler
	if hd.Section != "httpWorker" || hd.ExecutablePath != "node" || hd.WorkerPath != "server.js" || strings.Join(hd.Arguments, ",") != "--a" || strings.Join(hd.WorkerArguments, ",") != "--w" || !hd.ForwardHTTP || hd.ForwardOriginalPath {
		t.Fatalf("handler %+v", hd)
	}
	if h.RoutePrefix != "api" || h.FunctionTimeout != 0 || h.Queues.MaxDequeueCount != 5 || h.Queues.MessageEncoding != "base64" {
		t.Fatalf("%+v", h)
	}
	if _, err := ParseHost("host.json", []byte(`{"version":"2.0","httpWorker":{"description":{"defaultWorkerPath":"w.exe"}}}`)); err == nil || !strings.Contains(err.Error(), `"httpWorker.description.defaultExecutablePath": missing`) {
		t.Fatalf("no defaultExecutablePath: %v", err)
	}
	c, err := ParseHost("host.json", []byte(`{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"h"},"enableForwardingHttpRequest":true},"httpWorker":{"description":{"defaultExecutablePath":"w"}}}`))
	if err != nil || c.Handler.Section != "customHandler" || c.Handler.ExecutablePath != "h" || !c.Handler.ForwardOriginalPath {
		t.Fatalf("customHandler wins: %+v %v", c.Handler, err)
	}
}

func TestFunctionErrorsNameTheField(t *testing.T) {
	cases := []struct{ name, json, want string }{
		{"f", `{"bindings":[]}`, "exactly one trigger, found 0"},
		{"f", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"a"},{"type":"timerTrigger","direction":"in","name":"b","schedule":"* * * * * *"}]}`, "found 2"},
		{"f", `{"bindings":[{"type":"httpTrigger","direction":"in"}]}`, `bindings[0]: field "name": missing`},
		{"f", `{"bindings":[{"type":"httpTrigger","direction":"out","name":"r"}]}`, `a trigger is "in"`},
		{"f", `{"bindings":[{"type":"httpTrigger","direction":"sideways","name":"r"}]}`, `field "direction"`},
		{"f", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"r","authLevel":"root"}]}`, `field "authLevel"`},
		{"f", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"r","methods":["FETCH"]}]}`, `field "methods"`},
		{"f", `{"bindings":[{"type":"queueTrigger","direction":"in","name":"m"}]}`, `field "queueName": missing`},
		{"f", `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t"}]}`, `field "schedule": missing`},
		{"f", `{"bindings":[{"type":"blobTrigger","direction":"in","name":"b"}]}`, `binding "b" (blobTrigger): field "path": missing`},
		{"f", `{"bindings":[{"type":"blobTrigger","direction":"in","name":"b","path":"c{x}/y"}]}`, `container paths cannot contain {resolve} tokens`},
		{"f", `{"bindings":[{"type":"blobTrigger","direction":"in","name":"b","path":"in/{a.b}"}]}`, `can't include dot operators`},
		{"f", `{"bindings":[{"type":"blobTrigger","direction":"in","name":"b","path":"inbox/{x}","dataType":"stream"}]}`, `field "dataType"`},
		{"f", `{"bindings":[{"type":"blobTrigger","direction":"in","name":"b","path":"inbox/{x}"},{"type":"blob","direction":"inout","name":"o","path":"out/{x}"}]}`, `bindings[1]: binding "o" (blob): field "direction"`},
		{"f", `{"bindings":[{"type":"blobTrigger","direction":"in","name":"b","path":"inbox/{x}"},{"type":"blob","direction":"in","name":"o","path":"out"}]}`, `field "path": "out": a blob binding names one blob`},
		{"f", `{"bindings":[{"type":"cosmosDBTrigger","direction":"in","name":"b"}]}`, `"cosmosDBTrigger" is not supported`},
		{"f", `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"0 * * * * *"},{"type":"table","direction":"in","name":"x","tableName":"T","rowKey":"r","take":3}]}`, `bindings[1]: binding "x" (table): field "rowKey"`},
		{"f", `{"disabled":"maybe","bindings":[]}`, `field "disabled"`},
		{"9lives", `{"bindings":[]}`, `function name "9lives"`},
	}
	for _, c := range cases {
		_, err := ParseFunction("app/f/function.json", c.name, []byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "app/f/function.json: ") {
			t.Errorf("%s: err %v, want %q", c.json, err, c.want)
		}
	}
}

func TestLocalSettings(t *testing.T) {
	cases := []struct{ json, want string }{
		{`{"IsEncrypted":true,"Values":{"A":"b"}}`, `field "IsEncrypted"`},
		{`{"Values":{"A":"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8w/w=="}}`, `field "IsEncrypted"`},
		{`{"IsEncrypted":false,"Values":{"A":{"nested":1}}}`, `field "Values.A"`},
	}
	for _, c := range cases {
		_, err := ParseLocalSettings("local.settings.json", []byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.json, err, c.want)
		}
	}
	ls, err := ParseLocalSettings("local.settings.json", []byte(`{"Values":{"A":"plain text","B":true}}`))
	if err != nil || ls.Values["A"] != "plain text" || ls.Values["B"] != "true" {
		t.Fatalf("%+v %v", ls, err)
	}
}

func TestTimeSpan(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"00:05:00", 5 * time.Minute, true},
		{"1.02:00:00", 26 * time.Hour, true},
		{"00:00:00.5", 500 * time.Millisecond, true},
		{"24:00:00", 0, false},
		{"5", 0, false},
		{"00:60:00", 0, false},
		{"-1.00:00:00", 0, false},
	}
	for _, c := range cases {
		got, err := ParseTimeSpan(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("%q: %v %v", c.in, got, err)
		}
	}
}

func TestAppNames(t *testing.T) {
	for name, ok := range map[string]bool{"orders": true, "my-app2": true, "a": true, "my_app": false, "-x": false, "x-": false, "": false, "a.b": false} {
		if (ValidAppName(name) == nil) != ok {
			t.Errorf("%q", name)
		}
	}
}

// TestExecutableNotFoundSaysWhere: issue 12 item 9. A handler that is
// neither in the app folder nor a command on PATH is refused with both
// places named.
func TestExecutableNotFoundSaysWhere(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "host.json", `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"no-such-handler-x"}}}`)
	_, err := Load("app", dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "no-such-handler-x")) || !strings.Contains(err.Error(), "on PATH ("+os.Getenv("PATH")+")") {
		t.Fatalf("err %v", err)
	}
	writeFile(t, dir, "host.json", `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"%HANDLER_DIR%/h"}}}`)
	if _, err := Load("app", dir); err != nil {
		t.Fatalf("a path expanded per worker is checked when it starts, not at load: %v", err)
	}
}

// TestFunctionInErrorAndAllowList: issue 12 item 4. A function that cannot
// load is reported in App.Errors and the others load; host.json
// "functions" limits what loads.
func TestFunctionInErrorAndAllowList(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "host.json", `{"version":"2.0","functions":["good","BUS"],"customHandler":{"description":{"defaultExecutablePath":"sh"}}}`)
	writeFile(t, dir, "good/function.json", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"}]}`)
	writeFile(t, dir, "bus/function.json", `{"bindings":[{"type":"serviceBusTrigger","direction":"in","name":"m"}]}`)
	writeFile(t, dir, "other/function.json", `{"bindings":[]}`)
	app, err := Load("app", dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(app.FunctionNames(), ",") != "good" || len(app.Errors) != 1 || app.Errors[0].Name != "bus" || !strings.Contains(app.Errors[0].Error(), "serviceBusTrigger") {
		t.Fatalf("functions %v errors %v", app.FunctionNames(), app.Errors)
	}
}

func writeFile(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestIgnoredThingsAreSaid: issue 12 item 8. proxies.json,
// Host.LocalHttpPort and host.json sections Tandem does not apply are
// listed once at load.
func TestIgnoredThingsAreSaid(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "host.json", `{"version":"2.0","logging":{},"extensionBundle":{},"madeUp":1,"extensions":{"http":{},"serviceBus":{}},"customHandler":{"description":{"defaultExecutablePath":"sh"}}}`)
	writeFile(t, dir, "proxies.json", `{}`)
	writeFile(t, dir, "local.settings.json", `{"IsEncrypted":false,"Values":{},"Host":{"LocalHttpPort":7072}}`)
	app, err := Load("app", dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"host.json: unknown sections ignored: madeUp",
		"host.json: sections Tandem does not apply: extensions.serviceBus, logging",
		"proxies.json is ignored: Functions proxies were retired in runtime v4 (route with a function or a gateway in front)",
		"local.settings.json: Host.LocalHttpPort 7072 is ignored: the region's HTTP address serves every app",
	}
	if strings.Join(app.Warnings, "\n") != strings.Join(want, "\n") {
		t.Fatalf("warnings\n%s\nwant\n%s", strings.Join(app.Warnings, "\n"), strings.Join(want, "\n"))
	}
}

func TestRetryPolicies(t *testing.T) {
	tests := []struct {
		json, err string
		delays    []time.Duration
	}{
		{`{"strategy":"fixedDelay","maxRetryCount":3,"delayInterval":"00:00:05"}`, "", []time.Duration{5 * time.Second, 5 * time.Second}},
		{`{"strategy":"exponentialBackoff","maxRetryCount":-1,"minimumInterval":"00:00:01","maximumInterval":"00:00:05"}`, "", []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second}},
		{`{"strategy":"linear","maxRetryCount":1}`, `"retry.strategy"`, nil},
		{`{"strategy":"fixedDelay"}`, `"retry.maxRetryCount"`, nil},
		{`{"strategy":"fixedDelay","maxRetryCount":1}`, `"retry.delayInterval": required`, nil},
		{`{"strategy":"exponentialBackoff","maxRetryCount":1,"minimumInterval":"00:00:09","maximumInterval":"00:00:01"}`, "shorter", nil},
	}
	for _, tt := range tests {
		r, err := parseRetry([]byte(tt.json))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err %v, want %q", tt.json, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.json, err)
		}
		for i, want := range tt.delays {
			if got := r.DelayBefore(i + 1); got != want {
				t.Errorf("%s: retry %d delay %v, want %v", tt.json, i+1, got, want)
			}
		}
	}
}

func FuzzParseRetry(f *testing.F) {
	f.Add(`{"strategy":"fixedDelay","maxRetryCount":3,"delayInterval":"00:00:05"}`)
	f.Add(`{"strategy":"exponentialBackoff","maxRetryCount":-1,"minimumInterval":"00:00:01","maximumInterval":"1.00:00:00"}`)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRetry([]byte(s))
		if err == nil && r != nil && r.DelayBefore(1000) < 0 {
			t.Fatalf("negative delay for %s", s)
		}
	})
}
