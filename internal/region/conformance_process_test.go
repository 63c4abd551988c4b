package region

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

var helloFunction = map[string]string{
	"hello": `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous","route":"greet/{name}"},{"type":"http","direction":"out","name":"res"}]}`,
}

// TestConformanceArgumentExpansion: issue 12 item 3. %NAME% in host.json
// arguments is expanded as DefaultWorkerProcessFactory does: app settings
// (the environment), the worker variables, unresolved names removed; so a
// handler told to listen on 127.0.0.1:%FUNCTIONS_CUSTOMHANDLER_PORT% (as a
// public PHP sample tells php -S) starts and serves.
func TestConformanceArgumentExpansion(t *testing.T) {
	eachLang(t, func(t *testing.T, l conformanceLang) {
		app, capFile := conformanceApp(t, l, "args", helloFunction,
			"--listen=127.0.0.1:%FUNCTIONS_CUSTOMHANDLER_PORT%", "--mode=%MODE%", "--worker=%FUNCTIONS_CUSTOMHANDLER_WORKER_ID%", "--gone=%NOT_SET_ANYWHERE%")
		app.settings["MODE"] = "fast"
		tr := startRegion(t, nil, app)
		if r := tr.do("GET", "/api/greet/ada", "", ""); r.code != 200 {
			t.Fatalf("GET: %d %s", r.code, r.body)
		}
		c := waitCapture(t, capFile, "/hello")
		want := append([]string{}, // argv after the script (Python's and Node's argv[1:] omit it)
			"--listen=127.0.0.1:"+c.Env["FUNCTIONS_CUSTOMHANDLER_PORT"], "--mode=fast",
			"--worker="+c.Env["FUNCTIONS_CUSTOMHANDLER_WORKER_ID"], "--gone=")
		if strings.Join(c.Argv, " ") != strings.Join(want, " ") || c.Env["FUNCTIONS_CUSTOMHANDLER_WORKER_ID"] == "" {
			t.Fatalf("argv %q, want %q", c.Argv, want)
		}
	})
}

// TestConformanceHTTPWorkerSection: issue 12 item 2. The legacy httpWorker
// section runs defaultExecutablePath with defaultWorkerPath (node
// server.js), the port is in FUNCTIONS_HTTPWORKER_PORT, and an HTTP-only
// function is forwarded to /<FunctionName> with the query (comma-joined),
// not to the original path, as DefaultHttpWorkerService does.
func TestConformanceHTTPWorkerSection(t *testing.T) {
	eachLang(t, func(t *testing.T, l conformanceLang) {
		app, capFile := conformanceApp(t, l, "legacy", helloFunction)
		dir := app.write(t)
		desc := map[string]any{"defaultExecutablePath": l.exe}
		if len(l.args) > 0 {
			desc["defaultWorkerPath"] = l.args[0] // the script: node handler.js, python3 handler.py
		}
		writeJSONFile(t, filepath.Join(dir, "host.json"), map[string]any{"version": "2.0", "httpWorker": map[string]any{"description": desc}})
		tr := startRegion(t, func(o *Options) { o.Apps = []AppSpec{{Name: "legacy", Dir: dir}} })
		r := tr.do("GET", "/api/greet/ada?x=1&x=2", "", "")
		if r.code != 200 || string(r.body) != "forwarded /hello" {
			t.Fatalf("GET: %d %s, want 200 \"forwarded /hello\"", r.code, r.body)
		}
		c := waitCapture(t, capFile, "/hello")
		if c.Method != "GET" || c.Env["FUNCTIONS_HTTPWORKER_PORT"] == "" || c.InvocationID == "" {
			t.Fatalf("capture %s %s env port %q invocation %q", c.Method, c.Path, c.Env["FUNCTIONS_HTTPWORKER_PORT"], c.InvocationID)
		}
	})
}

// TestConformanceHTTPWorkerFollowsRedirects: for the legacy httpWorker
// section the host's HttpClient follows the handler's redirects
// (AllowAutoRedirect is on unless forwarding was asked for): a POST
// answered 302 is followed with a GET; with customHandler forwarding the
// redirect reaches the caller.
func TestConformanceHTTPWorkerFollowsRedirects(t *testing.T) {
	eachLang(t, func(t *testing.T, l conformanceLang) {
		if l.name != "go" {
			t.Skip("only the Go handler redirects on demand")
		}
		fns := map[string]string{"hop": strings.ReplaceAll(helloFunction["hello"], "greet/{name}", "hop"), "hello": helloFunction["hello"]}
		for _, section := range []string{"httpWorker", "customHandler"} {
			t.Run(section, func(t *testing.T) {
				app, capFile := conformanceApp(t, l, "legacy", fns)
				app.settings["CONFORMANCE_REDIRECT"] = "/hop=/hello,/api/hop=/api/greet/bob"
				dir := app.write(t)
				block := map[string]any{"description": map[string]any{"defaultExecutablePath": l.exe}}
				if section == "customHandler" {
					block["enableForwardingHttpRequest"] = true
				}
				writeJSONFile(t, filepath.Join(dir, "host.json"), map[string]any{"version": "2.0", section: block})
				tr := startRegion(t, func(o *Options) { o.Apps = []AppSpec{{Name: "legacy", Dir: dir}} })
				noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				resp, err := noFollow.Post(tr.URL()+"/api/hop", "text/plain", strings.NewReader("payload"))
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if section == "customHandler" {
					if resp.StatusCode != 302 || resp.Header.Get("Location") != "/api/greet/bob" {
						t.Fatalf("customHandler forwarding: %d %v, want the 302 itself", resp.StatusCode, resp.Header)
					}
					return
				}
				if resp.StatusCode != 200 || string(body) != "forwarded /hello" {
					t.Fatalf("POST hop: %d %s, want the redirect followed to /hello", resp.StatusCode, body)
				}
				if c := waitCapture(t, capFile, "/hello"); c.Method != "GET" {
					t.Fatalf("the redirect was followed with %s, want GET", c.Method)
				}
			})
		}
	})
}

// TestConformanceHandlerEnvironment: issue 11 item 1. A handler sees its
// app's settings, the Azure variables and a minimal base, never TANDEM_*
// nor anything else of the operator's environment.
func TestConformanceHandlerEnvironment(t *testing.T) {
	t.Setenv("TANDEM_MASTER_KEY", "operator-master-key-0123456789abcdefghij")
	t.Setenv("TANDEM_ANYTHING", "x")
	t.Setenv("OPERATOR_SECRET", "s3cret")
	t.Setenv("LC_ALL", "C.UTF-8")
	eachLang(t, func(t *testing.T, l conformanceLang) {
		app, capFile := conformanceApp(t, l, "envapp", helloFunction)
		app.settings["MY_SETTING"] = "mine"
		app.settings["AzureWebJobsStorage"] = "UseDevelopmentStorage=true" // as local.settings.json has it for Azurite
		tr := startRegion(t, nil, app)
		if r := tr.do("GET", "/api/greet/ada", "", ""); r.code != 200 {
			t.Fatalf("GET: %d %s", r.code, r.body)
		}
		env := waitCapture(t, capFile, "/hello").Env
		allowed := map[string]bool{
			"PATH": true, "HOME": true, "USER": true, "LOGNAME": true, "SHELL": true, "LANG": true, "LANGUAGE": true,
			"TZ": true, "TMPDIR": true, "SSL_CERT_FILE": true, "SSL_CERT_DIR": true,
			"CAPTURE_FILE": true, "MY_SETTING": true, "WEBSITE_SITE_NAME": true, "REGION_NAME": true, "AzureWebJobsStorage": true,
			"FUNCTIONS_CUSTOMHANDLER_PORT": true, "FUNCTIONS_CUSTOMHANDLER_WORKER_ID": true,
			"FUNCTIONS_HTTPWORKER_PORT": true, "FUNCTIONS_HTTPWORKER_ID": true, "FUNCTIONS_APP_ROOT_PATH": true,
		}
		var extra []string
		for k := range env {
			// A pyenv shim (a bash script) adds its own; they are not Tandem's.
			runtimeOwn := l.name == "python" && (strings.Contains(k, "PYENV_") || k == "PWD" || k == "SHLVL" || k == "_")
			if !allowed[k] && !strings.HasPrefix(k, "LC_") && !runtimeOwn {
				extra = append(extra, k)
			}
		}
		sort.Strings(extra)
		if len(extra) > 0 {
			t.Errorf("the handler got variables beyond its app's and the minimal base: %v", extra)
		}
		// The emulator shortcut is replaced by the app's own storage
		// account on this region (no --public-url here).
		base := tr.URL()
		for _, part := range []string{"AccountName=envapp;", "AccountKey=", "TableEndpoint=" + base + "/tables/envapp;",
			"QueueEndpoint=" + base + "/queues/envapp;", "BlobEndpoint=" + base + "/blobs/envapp;"} {
			if !strings.Contains(env["AzureWebJobsStorage"], part) {
				t.Errorf("AzureWebJobsStorage %q lacks %q", env["AzureWebJobsStorage"], part)
			}
		}
		if env["MY_SETTING"] != "mine" || env["REGION_NAME"] != "east" || env["WEBSITE_SITE_NAME"] != "envapp" || env["LC_ALL"] != "C.UTF-8" || env["PATH"] != os.Getenv("PATH") && l.name != "python" {
			t.Errorf("env lacks what it should have: %v", env)
		}
	})
}

// TestConformanceHandlerUser: issue 11 item 1, --handler-user. Handlers
// run as another OS user, which cannot read the region's master key; its
// HOME and USER are its own. Needs root (to switch users) and the user
// "nobody"; skipped otherwise.
func TestConformanceHandlerUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("--handler-user needs the region to run as root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user named nobody")
	}
	eachLang(t, func(t *testing.T, l conformanceLang) {
		if p, _ := exec.LookPath(l.exe); l.name != "go" && !othersCanRun(p) {
			t.Skipf("%s (%s) cannot be run by other users on this machine", l.exe, p)
		}
		base, err := os.MkdirTemp("", "handleruser-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(base) })
		if err := os.Chmod(base, 0o755); err != nil {
			t.Fatal(err)
		}
		capDir := filepath.Join(base, "captures")
		if err := os.Mkdir(capDir, 0o777); err != nil || os.Chmod(capDir, 0o777) != nil {
			t.Fatal(err)
		}
		app, _ := conformanceApp(t, l, "shared", helloFunction)
		if l.name == "go" { // the built binary lives in a private temp dir: give nobody a copy
			exe := filepath.Join(base, "handler")
			data, _ := os.ReadFile(l.exe)
			if err := os.WriteFile(exe, data, 0o755); err != nil {
				t.Fatal(err)
			}
			app.handler = exe
		}
		capFile := filepath.Join(capDir, "captures.jsonl")
		dataDir := filepath.Join(base, "data")
		app.settings["CAPTURE_FILE"] = capFile
		app.settings["CONFORMANCE_PROBE_FILE"] = filepath.Join(dataDir, "master.key")
		dir := app.write(t)
		for d := dir; d != base && d != "/"; d = filepath.Dir(d) { // the app folder must be readable to nobody
			_ = os.Chmod(d, 0o755)
		}
		tr := startRegion(t, func(o *Options) {
			o.HandlerUser, o.DataDir = "nobody", dataDir
			o.Apps = []AppSpec{{Name: "shared", Dir: dir}}
		})
		if r := tr.do("GET", "/api/greet/ada", "", ""); r.code != 200 {
			t.Fatalf("GET: %d %s", r.code, r.body)
		}
		c := waitCapture(t, capFile, "/hello")
		if strconv.Itoa(c.UID) != nobody.Uid || c.Probe != "denied" || c.Env["USER"] != "nobody" || c.Env["HOME"] != nobody.HomeDir {
			t.Fatalf("uid %d probe %q USER %q HOME %q", c.UID, c.Probe, c.Env["USER"], c.Env["HOME"])
		}
	})
}

// othersCanRun reports whether a user other than the owner can run the
// file at path: every directory on the way searchable, the file executable.
func othersCanRun(path string) bool {
	if path == "" {
		return false
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return false
	}
	for p := real; ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if p == "/" {
			return true
		}
	}
}

// TestConformanceMissingExecutableSaysWhere: issue 12 item 9. An app whose
// handler is neither in its folder nor on PATH is refused with both named.
func TestConformanceMissingExecutableSaysWhere(t *testing.T) {
	app := testApp{name: "nohandler", handler: "no-such-handler-binary", functions: helloFunction}
	dir := app.write(t)
	r, err := New(Options{Name: "east", HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), MasterKeyEnv: testMaster,
		Apps: []AppSpec{{Name: "nohandler", Dir: dir}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithTimeout(30 * time.Second)
	defer cancel()
	err = r.Start(ctx)
	if err == nil {
		_ = r.Shutdown(ctx)
		t.Fatal("a region started an app without its handler")
	}
	for _, want := range []string{filepath.Join(dir, "no-such-handler-binary"), "on PATH (" + os.Getenv("PATH") + ")"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
