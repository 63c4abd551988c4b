package traffic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tandemhq/tandem/internal/control"
)

// roleState is the control plane's role state (control.Role): primary,
// epoch, the latest lease, the failover history.
type roleState = control.Role

// Failover is one change of primary.
type Failover = control.Failover

// legacyFile is where a traffic manager before the control cluster kept
// its role state: DIR/witness.json.
func legacyFile(dir string) string { return filepath.Join(dir, "witness.json") }

// loadLegacy reads a witness.json; found is false when there is none. A
// corrupt file is an error: silently starting over could reuse an epoch.
func loadLegacy(path string) (s roleState, found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return roleState{}, false, nil
	}
	if err != nil {
		return roleState{}, false, fmt.Errorf("witness state load: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return roleState{}, false, fmt.Errorf("witness state %s is corrupt (fix or remove it; removing resyncs epochs from the regions): %w", path, err)
	}
	return s, true, nil
}

// importLegacy moves a witness.json into the control KV once: only when
// the KV holds no role yet, and the file is renamed so it is never
// imported again. A KV that already holds a role wins; the file is then
// left in place and said so.
func importLegacy(ctx context.Context, ctl *control.Store, dir string, log logger) error {
	path := legacyFile(dir)
	st, found, err := loadLegacy(path)
	if err != nil || !found {
		return err
	}
	if _, err := ctl.SetRole(ctx, st, 0); err != nil {
		if errors.Is(err, control.ErrConflict) {
			log.Warn("witness.json not imported: the control cluster already holds a role state", "file", path)
			return nil
		}
		return fmt.Errorf("import %s: %w", path, err)
	}
	if err := os.Rename(path, path+".imported"); err != nil {
		return fmt.Errorf("import %s: %w", path, err)
	}
	log.Info("witness.json imported into the control cluster", "file", path, "primary", st.Primary, "epoch", st.Epoch)
	return nil
}

type logger interface {
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
}
