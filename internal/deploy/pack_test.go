package deploy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// writeTree writes files (slash path -> content) under a new folder;
// paths ending in "*" are made executable (the star is dropped).
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		mode := os.FileMode(0o644)
		if n := len(name); name[n-1] == '*' {
			name, mode = name[:n-1], 0o755
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mustPack(t *testing.T, dir string) *Packed {
	t.Helper()
	p, err := Pack(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func paths(p *Packed) []string {
	var out []string
	for _, f := range p.Files {
		out = append(out, f.Path)
	}
	return out
}

var baseApp = map[string]string{
	"host.json":           `{"version":"2.0"}`,
	"hello/function.json": `{"bindings":[]}`,
	"handler*":            "#!/bin/sh\n",
	"local.settings.json": `{"Values":{}}`,
}

func TestPackIsDeterministic(t *testing.T) {
	a := writeTree(t, baseApp)
	b := writeTree(t, baseApp)
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(b, "host.json"), old, old); err != nil {
		t.Fatal(err)
	}
	pa, pb, pa2 := mustPack(t, a), mustPack(t, b), mustPack(t, a)
	if pa.Version != pb.Version || pa.Version != pa2.Version {
		t.Fatalf("versions differ for the same tree: %s %s %s", pa.Version, pb.Version, pa2.Version)
	}
	if !bytes.Equal(pa.Archive, pb.Archive) {
		t.Fatal("archives of the same tree differ byte for byte")
	}
	if len(pa.Version) != 64 {
		t.Fatalf("version %q is not a sha256 hex", pa.Version)
	}
	if want := []string{"handler", "hello/function.json", "host.json", "local.settings.json"}; !slices.Equal(paths(pa), want) {
		t.Fatalf("files %v, want %v", paths(pa), want)
	}
}

func TestPackVersionChanges(t *testing.T) {
	base := mustPack(t, writeTree(t, baseApp)).Version
	with := func(mut func(map[string]string)) map[string]string {
		m := map[string]string{}
		for k, v := range baseApp {
			m[k] = v
		}
		mut(m)
		return m
	}
	cases := []struct {
		name  string
		files map[string]string
	}{
		{"content changed", with(func(m map[string]string) { m["host.json"] = `{"version":"2.0" }` })},
		{"file added", with(func(m map[string]string) { m["hello/readme.txt"] = "hi" })},
		{"file removed", with(func(m map[string]string) { delete(m, "local.settings.json") })},
		{"file renamed", with(func(m map[string]string) {
			m["hello2/function.json"] = m["hello/function.json"]
			delete(m, "hello/function.json")
		})},
		{"exec bit dropped", with(func(m map[string]string) { m["handler"] = m["handler*"]; delete(m, "handler*") })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if v := mustPack(t, writeTree(t, c.files)).Version; v == base {
				t.Fatalf("version unchanged (%s)", v)
			}
		})
	}
}

func TestPackSkipsIgnoredFiles(t *testing.T) {
	cases := []struct {
		name   string
		ignore string
		extra  map[string]string
		want   []string
	}{
		{"no funcignore: .git skipped", "", map[string]string{".git/HEAD": "ref", "sub/.git": "gitdir: x"},
			[]string{"handler", "hello/function.json", "host.json", "local.settings.json"}},
		{"basename glob at any depth", "*.pyc\n", map[string]string{"a.pyc": "x", "hello/b.pyc": "x"},
			[]string{".funcignore", "handler", "hello/function.json", "host.json", "local.settings.json"}},
		{"directory pattern", "test/\n.vscode\n", map[string]string{"test/a_test.go": "x", ".vscode/settings.json": "{}", "hello/test": "file, not dir"},
			[]string{".funcignore", "handler", "hello/function.json", "hello/test", "host.json", "local.settings.json"}},
		{"anchored and negated", "/local.settings.json\n*.md\n!KEEP.md\n", map[string]string{"README.md": "x", "KEEP.md": "k", "hello/local.settings.json": "nested"},
			[]string{".funcignore", "KEEP.md", "handler", "hello/function.json", "hello/local.settings.json", "host.json"}},
		{"double star", "**/cache/**\n", map[string]string{"cache/x": "1", "hello/cache/y": "2"},
			[]string{".funcignore", "handler", "hello/function.json", "host.json", "local.settings.json"}},
		{"ignore the ignore file", ".funcignore\n", nil,
			[]string{"handler", "hello/function.json", "host.json", "local.settings.json"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range baseApp {
				files[k] = v
			}
			for k, v := range c.extra {
				files[k] = v
			}
			if c.ignore != "" {
				files[".funcignore"] = c.ignore
			}
			if got := paths(mustPack(t, writeTree(t, files))); !slices.Equal(got, c.want) {
				t.Fatalf("packed %v\nwant     %v", got, c.want)
			}
		})
	}
}

func TestPackFollowsFileLinksAndRefusesDirLinks(t *testing.T) {
	dir := writeTree(t, baseApp)
	if err := os.Symlink(filepath.Join(dir, "host.json"), filepath.Join(dir, "link.json")); err != nil {
		t.Fatal(err)
	}
	p := mustPack(t, dir)
	if !slices.Contains(paths(p), "link.json") {
		t.Fatalf("link to a file not packed: %v", paths(p))
	}
	if err := os.Symlink(filepath.Join(dir, "hello"), filepath.Join(dir, "dirlink")); err != nil {
		t.Fatal(err)
	}
	if _, err := Pack(dir); err == nil {
		t.Fatal("a link to a directory was packed")
	}
}

func TestPackErrors(t *testing.T) {
	empty := t.TempDir()
	if _, err := Pack(empty); err == nil {
		t.Fatal("empty folder packed")
	}
	bad := writeTree(t, map[string]string{"host.json": "{}", ".funcignore": "ok\n[unclosed\n"})
	_, err := Pack(bad)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(".funcignore line 2")) {
		t.Fatalf("bad .funcignore: %v", err)
	}
	if _, err := Pack(filepath.Join(empty, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing folder: %v", err)
	}
}

func TestUnpackRoundTrip(t *testing.T) {
	src := writeTree(t, baseApp)
	p := mustPack(t, src)
	dst := filepath.Join(t.TempDir(), "v")
	v, err := Unpack(bytes.NewReader(p.Archive), dst, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if v != p.Version {
		t.Fatalf("unpacked version %s, packed %s", v, p.Version)
	}
	if again := mustPack(t, dst); again.Version != p.Version {
		t.Fatalf("repacking the unpacked tree gives %s", again.Version)
	}
	st, err := os.Stat(filepath.Join(dst, "handler"))
	if err != nil || st.Mode().Perm()&0o100 == 0 {
		t.Fatalf("handler not executable after unpack: %v %v", st.Mode(), err)
	}
}
