package traffic

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestStateFileRoundTripAndCorruption(t *testing.T) {
	dir := t.TempDir()
	f := newStateFile(dir)
	if _, found, err := f.load(); found || err != nil {
		t.Fatalf("empty dir: found=%v err=%v", found, err)
	}
	want := roleState{Primary: "west", Epoch: 7, LeaseUntil: t0.Add(time.Minute)}
	for i := 0; i < historyKept+5; i++ {
		want.record(Failover{At: t0, To: "west", Epoch: uint64(i), Kind: "manual"})
	}
	if err := f.save(want); err != nil {
		t.Fatal(err)
	}
	got, found, err := f.load()
	if err != nil || !found || got.Primary != "west" || got.Epoch != 7 || !got.LeaseUntil.Equal(want.LeaseUntil) {
		t.Fatalf("load: %+v %v %v", got, found, err)
	}
	if len(got.History) != historyKept || got.History[historyKept-1].Epoch != historyKept+4 {
		t.Fatalf("history kept %d, last %+v", len(got.History), got.History[len(got.History)-1])
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	if err := os.WriteFile(filepath.Join(dir, "witness.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.load(); err == nil {
		t.Fatal("a corrupt state file must be an error, not a fresh start that could reuse an epoch")
	}
}

func FuzzStateFile(f *testing.F) {
	f.Add([]byte(`{"primary":"east","epoch":3,"leaseUntil":"2026-11-23T12:00:00Z","history":[]}`))
	f.Add([]byte(`{"epoch":-1}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "witness.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, found, err := newStateFile(dir).load()
		if err != nil {
			return
		}
		if !found {
			t.Fatal("an existing file reported as missing")
		}
		if err := newStateFile(dir).save(s); err != nil {
			t.Fatalf("a loaded state does not save: %v", err)
		}
	})
}
