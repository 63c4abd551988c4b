package main

import (
	"os"

	"github.com/tandemhq/tandem/internal/region"
	"path/filepath"
	"testing"
)

// TestStatusListsFunctionsInError: issue 12 item 4. A function that cannot
// load is shown by tandem status, and the app's other functions serve.
func TestStatusListsFunctionsInError(t *testing.T) {
	east := &cliRegion{name: "east", data: t.TempDir()}
	east.start(t)
	top := filepath.Join(t.TempDir(), "deploy.yaml")
	writeDeployTopology(t, top, east)
	dir := cliApp(t, 1)
	if err := os.MkdirAll(filepath.Join(dir, "bus"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bus", "function.json"), []byte(`{"bindings":[{"type":"serviceBusTrigger","direction":"in","name":"m"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := tandem(t, "deploy", dir, "--topology", top); code != 0 {
		t.Fatalf("deploy exit %d:\n%s", code, out)
	}
	_, out := tandem(t, "status", "--topology", top)
	expectOutput(t, out, "FUNCTIONS IN ERROR", "east    shop  bus", `"serviceBusTrigger" is not supported by Tandem`)
}

// TestStatusListsAppsLoadedFromFolders: issue 14 item 7. An app loaded
// with --app (no package) is listed by tandem status.
func TestStatusListsAppsLoadedFromFolders(t *testing.T) {
	east := &cliRegion{name: "east", data: t.TempDir(), apps: []region.AppSpec{{Name: "folder", Dir: cliApp(t, 1)}}}
	east.start(t)
	top := filepath.Join(t.TempDir(), "deploy.yaml")
	writeDeployTopology(t, top, east)
	_, out := tandem(t, "status", "--topology", top)
	expectOutput(t, out, "no app packages deployed", "Apps served (deployed or loaded with --app):", "east     folder (")
}
