package traffic

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/control"
)

func writeLegacy(t *testing.T, dir string, st roleState) {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(legacyFile(dir), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func startControl(t *testing.T) *control.Store {
	t.Helper()
	n := control.NewNode(control.NodeOptions{Name: "t", Dir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := control.Open(ctx, control.StoreOptions{URLs: n.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestLegacyStateImportedOnce: a witness.json from before the control
// cluster is imported into an empty KV and renamed; a KV that already
// holds a role keeps it; a corrupt file stops the start.
func TestLegacyStateImportedOnce(t *testing.T) {
	ctx := context.Background()
	ctl, dir := startControl(t), t.TempDir()
	want := roleState{Primary: "west", Epoch: 7, LeaseUntil: t0.Add(time.Minute)}
	want.Record(Failover{At: t0, To: "west", Epoch: 7, Kind: "manual"})
	writeLegacy(t, dir, want)
	if err := importLegacy(ctx, ctl, dir, testLogger(t)); err != nil {
		t.Fatal(err)
	}
	got, _, found, err := ctl.Role(ctx)
	if err != nil || !found || got.Primary != "west" || got.Epoch != 7 || len(got.History) != 1 {
		t.Fatalf("imported: %+v found=%v err=%v", got, found, err)
	}
	if _, err := os.Stat(legacyFile(dir) + ".imported"); err != nil {
		t.Fatalf("the imported file is renamed: %v", err)
	}
	writeLegacy(t, dir, roleState{Primary: "east", Epoch: 1})
	if err := importLegacy(ctx, ctl, dir, testLogger(t)); err != nil {
		t.Fatal(err)
	}
	if got, _, _, _ := ctl.Role(ctx); got.Epoch != 7 {
		t.Fatalf("an old file overwrote the stored role: %+v", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "witness.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := importLegacy(ctx, ctl, dir, testLogger(t)); err == nil {
		t.Fatal("a corrupt state file must be an error, not a fresh start that could reuse an epoch")
	}
}

func TestHistoryKept(t *testing.T) {
	var st roleState
	for i := 0; i < control.HistoryKept+5; i++ {
		st.Record(Failover{At: t0, To: "west", Epoch: uint64(i), Kind: "manual"})
	}
	if len(st.History) != control.HistoryKept || st.History[control.HistoryKept-1].Epoch != control.HistoryKept+4 {
		t.Fatalf("history kept %d, last %+v", len(st.History), st.History[len(st.History)-1])
	}
}

func FuzzLegacyStateFile(f *testing.F) {
	f.Add([]byte(`{"primary":"east","epoch":3,"leaseUntil":"2026-11-23T12:00:00Z","history":[]}`))
	f.Add([]byte(`{"epoch":-1}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "witness.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, found, err := loadLegacy(path)
		if err != nil {
			return
		}
		if !found {
			t.Fatal("an existing file reported as missing")
		}
		if _, err := json.Marshal(s); err != nil {
			t.Fatalf("a loaded state does not encode: %v", err)
		}
	})
}
