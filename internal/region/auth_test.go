package region

import (
	"encoding/json"
	"testing"
)

func authApp() testApp {
	return testApp{name: "secure", forward: true, functions: map[string]string{
		"anon": httpFn("anonymous", ""), "fn": httpFn("function", ""), "adm": httpFn("admin", ""),
		"sys": httpFn("system", ""), "other": httpFn("function", ""),
	}}
}

type keyList struct {
	Keys []struct{ Name, Value string } `json:"keys"`
}

func (tr *testRegion) keyValue(path, name string) string {
	tr.t.Helper()
	r := tr.admin("GET", path, "")
	var kl keyList
	if err := json.Unmarshal(r.body, &kl); err != nil {
		tr.t.Fatalf("%s: %d %s", path, r.code, r.body)
	}
	for _, k := range kl.Keys {
		if k.Name == name {
			return k.Value
		}
	}
	tr.t.Fatalf("%s has no key %q: %s", path, name, r.body)
	return ""
}

// TestAuthLevels checks every authLevel against every kind of key.
func TestAuthLevels(t *testing.T) {
	tr := startRegion(t, nil, authApp())
	hostKey := tr.keyValue("/admin/host/functionkeys", "default")
	fnKey := tr.keyValue("/admin/functions/fn/keys", "default")
	otherKey := tr.keyValue("/admin/functions/other/keys", "default")
	if r := tr.admin("PUT", "/admin/host/systemkeys/ops", `{"name":"ops","value":"system-key-value-0123456789abcdefghijklmnop"}`); r.code/100 != 2 {
		t.Fatalf("put system key: %d %s", r.code, r.body)
	}
	sysKey := "system-key-value-0123456789abcdefghijklmnop"
	keys := map[string]string{"none": "", "wrong": "not-a-key", "host": hostKey, "fn": fnKey, "otherfn": otherKey, "system": sysKey, "master": tr.master}
	want := map[string]map[string]int{
		"anon": {"none": 200, "wrong": 200, "host": 200, "fn": 200, "otherfn": 200, "system": 200, "master": 200},
		// A system key does not open a function-level function: the Azure
		// host requires the level itself or the master key.
		"fn":  {"none": 401, "wrong": 401, "host": 200, "fn": 200, "otherfn": 401, "system": 401, "master": 200},
		"sys": {"none": 401, "wrong": 401, "host": 401, "fn": 401, "otherfn": 401, "system": 200, "master": 200},
		"adm": {"none": 401, "wrong": 401, "host": 401, "fn": 401, "otherfn": 401, "system": 401, "master": 200},
	}
	for fn, byKey := range want {
		for kind, code := range byKey {
			if r := tr.do("GET", "/api/"+fn, keys[kind], ""); r.code != code {
				t.Errorf("%s with %s key: %d, want %d", fn, kind, r.code, code)
			}
		}
	}
	// ?code= works, and the header wins over it.
	if r := tr.do("GET", "/api/fn?code="+fnKey, "", ""); r.code != 200 {
		t.Errorf("?code=: %d", r.code)
	}
	if r := tr.do("GET", "/api/fn?code="+fnKey, "wrong", ""); r.code != 401 {
		t.Errorf("header should win over ?code=: %d", r.code)
	}
}

func TestAdminKeyAPI(t *testing.T) {
	tr := startRegion(t, nil, authApp())
	steps := []struct {
		method, path, body string
		code               int
	}{
		{"GET", "/admin/host/keys", "", 200},
		{"POST", "/admin/host/functionkeys/ci", "", 201},
		{"POST", "/admin/host/functionkeys/ci", "", 200},
		{"PUT", "/admin/functions/fn/keys/mine", `{"name":"mine","value":"my-own-function-key-value-0123456789abcd"}`, 201},
		{"PUT", "/admin/functions/fn/keys/mine", `{"name":"mine","value":"my-own-function-key-value-0123456789abcd"}`, 200},
		{"PUT", "/admin/functions/fn/keys/empty", `{"name":"empty"}`, 400},
		{"GET", "/admin/functions/fn/keys/mine", "", 200},
		{"DELETE", "/admin/functions/fn/keys/mine", "", 204},
		{"GET", "/admin/functions/fn/keys/mine", "", 404},
		{"DELETE", "/admin/host/systemkeys/_master", "", 400},
		{"GET", "/admin/functions/nosuch/keys", "", 404},
		{"GET", "/admin/apps/secure/host/functionkeys", "", 200},
	}
	for _, s := range steps {
		if r := tr.admin(s.method, s.path, s.body); r.code != s.code {
			t.Errorf("%s %s: %d %s, want %d", s.method, s.path, r.code, r.body, s.code)
		}
	}
	ci := tr.keyValue("/admin/host/functionkeys", "ci")
	if len(ci) != 56 {
		t.Errorf("generated key %d chars, want 56", len(ci))
	}
	if r := tr.do("GET", "/api/fn", ci, ""); r.code != 200 {
		t.Errorf("generated host key rejected: %d", r.code)
	}
	if r := tr.do("GET", "/admin/host/keys", ci, ""); r.code != 401 {
		t.Errorf("admin API with a function key: %d", r.code)
	}
}

func TestSettingsReachHandlerAndDisable(t *testing.T) {
	app := authApp()
	app.settings = map[string]string{"GREETING": "hello"}
	tr := startRegion(t, nil, app)
	env := func() string {
		r := tr.do("GET", "/api/anon?env=GREETING", "", "")
		return r.json(t)["env"].(map[string]any)["GREETING"].(string)
	}
	if got := env(); got != "hello" {
		t.Fatalf("seeded setting: %q", got)
	}
	if r := tr.admin("PUT", "/admin/apps/secure/settings/GREETING", `{"value":"bonjour"}`); r.code/100 != 2 {
		t.Fatalf("put setting: %d %s", r.code, r.body)
	}
	eventually(t, "new setting in the handler", func() bool { return env() == "bonjour" })
	if r := tr.admin("PUT", "/admin/apps/secure/settings/AzureWebJobs.anon.Disabled", `{"value":"true"}`); r.code/100 != 2 {
		t.Fatalf("disable: %d %s", r.code, r.body)
	}
	eventually(t, "function disabled", func() bool { return tr.do("GET", "/api/anon", "", "").code == 404 })
	if r := tr.do("GET", "/api/anon", tr.master, ""); r.code != 200 {
		t.Errorf("disabled function with the master key: %d", r.code)
	}
	if r := tr.admin("DELETE", "/admin/apps/secure/settings/AzureWebJobs.anon.Disabled", ""); r.code/100 != 2 {
		t.Fatalf("enable: %d", r.code)
	}
	eventually(t, "function enabled", func() bool { return tr.do("GET", "/api/anon", "", "").code == 200 })
}

func TestMasterKeySurvivesRestartAndIsNotLogged(t *testing.T) {
	dir := t.TempDir()
	tr := startRegion(t, func(o *Options) { o.DataDir = dir; o.MasterKeyEnv = "" }, authApp())
	key := tr.svc.keyed.master
	if len(key) < 40 {
		t.Fatalf("generated master key %q", key)
	}
	if r := tr.do("GET", "/api/adm", key, ""); r.code != 200 {
		t.Fatalf("generated master key rejected: %d", r.code)
	}
}
