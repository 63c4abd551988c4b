package region

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConformanceFunctionErrorsAndAdminAPI: issue 12 items 4 and 6. A
// function that cannot load (an unsupported trigger, a broken
// function.json) is in error, as in the Azure host: the rest of the app
// runs, /admin/host/status and /admin/functions report it; host.json
// "functions" is honoured; POST /admin/functions/{name} runs a non-HTTP
// function with {"input"} as the portal's Test/Run does (202), its input
// serialized as the host does.
func TestConformanceFunctionErrorsAndAdminAPI(t *testing.T) {
	eachLang(t, func(t *testing.T, l conformanceLang) {
		fns := map[string]string{
			"hello":   helloFunction["hello"],
			"onqueue": inputFunctions["onqueue"],
			"bus":     `{"bindings":[{"type":"serviceBusTrigger","direction":"in","name":"m","queueName":"q","connection":"SB"}]}`,
			"broken":  `{"bindings":[`,
			"skipped": `{"bindings":[{"type":"serviceBusTrigger","direction":"in","name":"m"}]}`,
		}
		app, capFile := conformanceApp(t, l, "partial", fns)
		dir := app.write(t)
		var host map[string]any
		b, _ := os.ReadFile(filepath.Join(dir, "host.json"))
		_ = json.Unmarshal(b, &host)
		host["functions"] = []string{"hello", "onqueue", "bus", "Broken"} // case-insensitive, as the host compares
		writeJSONFile(t, filepath.Join(dir, "host.json"), host)
		tr := startRegion(t, func(o *Options) { o.Apps = []AppSpec{{Name: "partial", Dir: dir}} })

		if r := tr.do("GET", "/api/greet/ada", "", ""); r.code != 200 {
			t.Fatalf("the app's good function: %d %s", r.code, r.body)
		}
		if r := tr.do("GET", "/admin/host/status", "", ""); r.code != 401 {
			t.Fatalf("status without the master key: %d", r.code)
		}
		var st HostStatus
		if r := tr.admin("GET", "/admin/host/status", ""); r.code != 200 || json.Unmarshal(r.body, &st) != nil {
			t.Fatalf("host status: %d %s", r.code, r.body)
		}
		if st.State != "Error" || st.Version == "" || len(st.Errors) != 2 || !strings.Contains(st.Errors[0], "broken") || !strings.Contains(st.Errors[1], "serviceBusTrigger") {
			t.Fatalf("host status %+v", st)
		}
		var list []FunctionStatus
		if r := tr.admin("GET", "/admin/functions", ""); r.code != 200 || json.Unmarshal(r.body, &list) != nil {
			t.Fatalf("functions: %d %s", r.code, r.body)
		}
		got := map[string]FunctionStatus{}
		for _, f := range list {
			got[f.Name] = f
		}
		if len(list) != 4 || got["hello"].Error != "" || !strings.HasSuffix(got["hello"].InvokeURLTemplate, "/api/greet/{name}") ||
			!strings.Contains(got["bus"].Error, "serviceBusTrigger") || got["broken"].Error == "" || got["onqueue"].Error != "" {
			t.Fatalf("functions %+v", list)
		}
		var one FunctionStatus
		if r := tr.admin("GET", "/admin/functions/onqueue", ""); r.code != 200 || json.Unmarshal(r.body, &one) != nil || canon(t, one.Config) != canon(t, json.RawMessage(fns["onqueue"])) {
			t.Fatalf("function onqueue: %d %s", r.code, r.body)
		}
		if r := tr.admin("GET", "/admin/functions/nope", ""); r.code != 404 {
			t.Fatalf("missing function: %d", r.code)
		}
		if r := tr.admin("POST", "/admin/functions/hello", `{"input":"x"}`); r.code != 400 {
			t.Fatalf("running an HTTP function through the admin API: %d %s", r.code, r.body)
		}
		if r := tr.admin("POST", "/admin/functions/onqueue", `{"input":"{\"Id\":7}"}`); r.code != 202 {
			t.Fatalf("run onqueue: %d %s", r.code, r.body)
		}
		data := payloadOf(t, waitCapture(t, capFile, "/onqueue"))["Data"].(map[string]any)
		if data["msg"] != `"{\"Id\":7}"` {
			t.Fatalf("Data.msg = %#v, want the input serialized as the host does", data["msg"])
		}
	})
}
