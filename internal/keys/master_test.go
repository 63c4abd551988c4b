package keys

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateShape(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		k, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		if len(k) != 56 || !strings.HasSuffix(k, "==") || strings.ContainsAny(k, "+/") {
			t.Fatalf("key %q: want 56 URL-safe base64 characters with padding", k)
		}
		raw, err := base64.URLEncoding.DecodeString(k)
		if err != nil || len(raw) != 40 {
			t.Fatalf("key %q decodes to %d bytes (%v), want 40", k, len(raw), err)
		}
		if seen[k] {
			t.Fatal("duplicate key")
		}
		seen[k] = true
	}
	k, _ := generate(bytes.NewReader(make([]byte, 40)))
	if k != strings.Repeat("A", 54)+"==" {
		t.Fatalf("generate from zeros = %q", k)
	}
	if _, err := generate(bytes.NewReader(make([]byte, 10))); err == nil {
		t.Fatal("short random source accepted")
	}
}

func TestLoadMaster(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		prepare func(t *testing.T, path string)
		want    string // expected key; "" means generated
		created bool
		wantErr string
	}{
		{name: "generated on first start", created: true},
		{name: "seeded from env on first start", env: "seed-from-env-0123456789", want: "seed-from-env-0123456789", created: true},
		{name: "blank env generates", env: "   ", created: true},
		{name: "env with spaces refused", env: "a b", wantErr: "TANDEM_MASTER_KEY"},
		{name: "existing file wins over env", env: "other", prepare: writeFile("from-file-key\n", 0o600), want: "from-file-key"},
		{name: "wide mode tightened", prepare: writeFile("k1234567", 0o644), want: "k1234567"},
		{name: "empty file refused", prepare: writeFile("\n", 0o600), wantErr: "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "region")
			path := filepath.Join(dir, MasterFile)
			if tc.prepare != nil {
				tc.prepare(t, path)
			}
			key, gotPath, created, err := LoadMaster(dir, tc.env)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if gotPath != path || created != tc.created {
				t.Errorf("path %q created %v, want %q %v", gotPath, created, path, tc.created)
			}
			if tc.want != "" && key != tc.want {
				t.Errorf("key = %q, want %q", key, tc.want)
			}
			if tc.want == "" && len(key) != 56 {
				t.Errorf("generated key has %d characters", len(key))
			}
			checkMasterFile(t, path, key)
			again, _, created2, err := LoadMaster(dir, "different-env-value")
			if err != nil || again != key || created2 {
				t.Errorf("second start: key same=%v created=%v err=%v", again == key, created2, err)
			}
		})
	}
}

func writeFile(content string, mode os.FileMode) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
}

func checkMasterFile(t *testing.T, path, key string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if strings.TrimSpace(string(b)) != key {
		t.Errorf("file holds a different key")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
