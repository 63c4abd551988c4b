package traffic

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// roleState is what the witness must not forget across restarts: which
// region is primary, at which epoch, how long the latest lease it granted
// (or was about to grant) runs, and the failover history.
type roleState struct {
	Primary    string     `json:"primary"`
	Epoch      uint64     `json:"epoch"`
	LeaseUntil time.Time  `json:"leaseUntil"`
	History    []Failover `json:"history"`
}

// Failover is one change of primary.
type Failover struct {
	At     time.Time `json:"at"`
	From   string    `json:"from,omitempty"`
	To     string    `json:"to"`
	Epoch  uint64    `json:"epoch"`
	Kind   string    `json:"kind"` // initial, automatic, manual, planned, resync
	Reason string    `json:"reason"`
}

const historyKept = 20

func (s *roleState) record(f Failover) {
	s.History = append(s.History, f)
	if n := len(s.History); n > historyKept {
		s.History = append([]Failover(nil), s.History[n-historyKept:]...)
	}
}

// stateFile keeps roleState in DIR/witness.json, replaced atomically.
type stateFile struct{ path string }

func newStateFile(dir string) *stateFile { return &stateFile{path: filepath.Join(dir, "witness.json")} }

// load returns the stored state; found is false when none was stored yet.
// A corrupt file is an error: silently starting over could reuse an epoch.
func (f *stateFile) load() (s roleState, found bool, err error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return roleState{}, false, nil
	}
	if err != nil {
		return roleState{}, false, fmt.Errorf("witness state load: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return roleState{}, false, fmt.Errorf("witness state %s is corrupt (fix or remove it; removing resyncs epochs from the regions): %w", f.path, err)
	}
	return s, true, nil
}

// save writes s to a temporary file, syncs it, renames it over the old one
// and syncs the directory, so a crash leaves either the old or the new state.
func (f *stateFile) save(s roleState) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("witness state save: %w", err)
	}
	dir := filepath.Dir(f.path)
	tmp, err := os.CreateTemp(dir, ".witness-*.tmp")
	if err != nil {
		return fmt.Errorf("witness state save: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("witness state save: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("witness state save: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("witness state save: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return fmt.Errorf("witness state save: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("witness state save: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("witness state save: sync dir: %w", err)
	}
	return nil
}
