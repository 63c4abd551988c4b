package funcapp

import (
	"os"
	"testing"
)

func seed(f *testing.F, files ...string) {
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

func FuzzHostJSON(f *testing.F) {
	seed(f, "testdata/app/host.json")
	f.Add([]byte(`{"version":"2.0","httpWorker":{"description":{"defaultWorkerPath":"w"}}}`))
	f.Add([]byte(`{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"h"}},"functionTimeout":"1.00:00:00.5"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHost("host.json", data)
		if err == nil && (h.Version != "2.0" || h.Handler.ExecutablePath == "" || h.Queues.BatchSize < 1 || h.Queues.MaxDequeueCount < 1) {
			t.Fatalf("accepted an invalid host: %+v", h)
		}
		for _, w := range hostWarnings(data) {
			if w == "" {
				t.Fatal("an empty warning")
			}
		}
	})
}

func FuzzFunctionJSON(f *testing.F) {
	seed(f, "testdata/app/hello/function.json", "testdata/app/orders/function.json")
	f.Add([]byte(`{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"0 */5 * * * *"}]}`))
	f.Add([]byte(`{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"0 */5 * * * *"}],"retry":{"strategy":"exponentialBackoff","maxRetryCount":2,"minimumInterval":"00:00:01","maximumInterval":"00:01:00"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fn, err := ParseFunction("function.json", "f", data)
		if err == nil && fn.Trigger().Type == "" {
			t.Fatalf("accepted a function without a trigger: %+v", fn)
		}
	})
}

func FuzzLocalSettings(f *testing.F) {
	seed(f, "testdata/app/local.settings.json")
	f.Add([]byte(`{"IsEncrypted":true}`))
	f.Add([]byte(`{"IsEncrypted":false,"Values":{},"Host":{"LocalHttpPort":7072,"CORS":"*","CORSCredentials":true}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ls, err := ParseLocalSettings("local.settings.json", data)
		if err == nil && (ls.Values == nil || ls.ConnectionStrings == nil) {
			t.Fatal("nil maps")
		}
	})
}

func FuzzParseCORSSetting(f *testing.F) {
	for _, s := range []string{`["*"]`, `["https://a.example","https://b.example"]`, `"x"`, ``, `[1]`} {
		f.Add(s, "true")
	}
	f.Fuzz(func(t *testing.T, origins, creds string) {
		c, err := ParseCORSSetting(origins, creds)
		if err != nil && (len(c.Origins) > 0 || c.Credentials) {
			t.Fatalf("error with a policy: %+v %v", c, err)
		}
	})
}
