package keys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWeakKeysRefused: user-supplied keys shorter than 16 characters are
// refused with an error saying the minimum, from TANDEM_MASTER_KEY and
// from a PUT of any key (master, host, function); they used to be taken,
// down to one character.
func TestWeakKeysRefused(t *testing.T) {
	for _, c := range []struct {
		value string
		ok    bool
	}{{"a", false}, {"fifteen-chars-x", false}, {"sixteen-chars-xx", true}} {
		dir := t.TempDir()
		_, _, _, err := LoadMaster(dir, c.value)
		if c.ok != (err == nil) {
			t.Fatalf("LoadMaster(%q): %v", c.value, err)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "TANDEM_MASTER_KEY") || !strings.Contains(err.Error(), "at least 16") {
				t.Fatalf("LoadMaster(%q): error %q does not name the variable and the minimum", c.value, err)
			}
			if _, serr := os.Stat(filepath.Join(dir, MasterFile)); !errors.Is(serr, fs.ErrNotExist) {
				t.Fatalf("a refused key was written: %v", serr)
			}
		}
	}
	a := newAdmin(t, true)
	for _, path := range []string{"/admin/host/keys/_master", "/admin/apps/shop/host/functionkeys/ci", "/admin/apps/shop/functions/Orders/keys/mine"} {
		for _, c := range []struct {
			value  string
			status int
		}{{"a", 400}, {"fifteen-chars-x", 400}, {"sixteen-chars-xx", 0}} {
			r := a.do("PUT", path, `{"name":"x","value":"`+c.value+`"}`)
			if c.status == 0 && r.status/100 != 2 || c.status != 0 && r.status != c.status {
				t.Fatalf("PUT %s value %q: %d %v", path, c.value, r.status, r.body)
			}
			if c.status == 400 && !strings.Contains(fmt.Sprint(r.body), "at least 16") {
				t.Fatalf("PUT %s value %q: error does not say the minimum: %v", path, c.value, r.body)
			}
		}
	}
}
