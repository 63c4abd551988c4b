package deploy

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParseIgnore(f *testing.F) {
	for _, s := range []string{"*.log\n!keep.log\n", "/build/\n**/x/**\n", `\#a` + "\n\\!b", "[a-\n", "a/**/b\r\n", "   \n#\n!"} {
		f.Add(s, "a/b/keep.log")
	}
	f.Fuzz(func(t *testing.T, rules, path string) {
		ig, err := ParseIgnore([]byte(rules))
		if err != nil {
			if !strings.Contains(err.Error(), "line") {
				t.Fatalf("error does not name the line: %v", err)
			}
			return
		}
		a, b := ig.Match(path, false), ig.Match(path, false)
		if a != b {
			t.Fatal("Match is not deterministic")
		}
		// Appending a rule that re-includes everything never leaves a
		// file ignored unless a parent directory is (Match sees one path).
		if again, err := ParseIgnore([]byte(rules + "\n!*\n!**\n")); err == nil && again.Match(path, false) {
			t.Fatalf("%q still ignored after !* and !**", path)
		}
	})
}

func FuzzUnpack(f *testing.F) {
	f.Add(tarGz(f, entry{name: "host.json", body: "{}"}, entry{name: "a/b", body: "x"}))
	f.Add(tarGz(f, entry{name: "../x", body: "x"}))
	f.Add(tarGz(f, entry{name: "d/", typ: tar.TypeDir}, entry{name: "d/f", body: "1"}))
	f.Add([]byte("\x1f\x8b\x08\x00garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		dst := filepath.Join(root, "v")
		v, err := Unpack(bytes.NewReader(data), dst, Limits{MaxFiles: 50, MaxBytes: 1 << 20})
		entries, _ := os.ReadDir(root)
		if err != nil {
			if len(entries) != 0 {
				t.Fatalf("failed unpack left %d entries", len(entries))
			}
			return
		}
		if len(entries) != 1 {
			t.Fatalf("unpack wrote beside its destination: %v", entries)
		}
		if hasPackExclusion(dst) {
			return // .git and .funcignore change what Pack takes
		}
		p, err := Pack(dst)
		if err != nil {
			t.Fatalf("unpacked tree does not repack: %v", err)
		}
		if p.Version != v {
			t.Fatalf("unpack version %s, repacked %s", v, p.Version)
		}
	})
}

func hasPackExclusion(dir string) bool {
	found := false
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, _ error) error {
		if d != nil && (d.Name() == ".git" || d.Name() == IgnoreFile) {
			found = true
		}
		return nil
	})
	return found
}
