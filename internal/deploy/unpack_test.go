package deploy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// entry is one tar entry of a hand-made archive.
type entry struct {
	name string
	typ  byte
	body string
	link string
}

func tarGz(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Linkname: e.link}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestUnpackRefusesBadArchives(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "escaped")
	cases := []struct {
		name    string
		archive []byte
		lim     Limits
	}{
		{"not gzip", []byte("PK\x03\x04 a zip"), Limits{}},
		{"gzip of garbage", func() []byte {
			var b bytes.Buffer
			gz := gzip.NewWriter(&b)
			_, _ = gz.Write([]byte("not a tar at all, certainly not 512 bytes of header"))
			_ = gz.Close()
			return b.Bytes()
		}(), Limits{}},
		{"empty archive", tarGz(t), Limits{}},
		{"dot-dot", tarGz(t, entry{name: "../escaped", body: "x"}), Limits{}},
		{"nested dot-dot", tarGz(t, entry{name: "a/../../escaped", body: "x"}), Limits{}},
		{"absolute", tarGz(t, entry{name: outside, body: "x"}), Limits{}},
		{"symlink", tarGz(t, entry{name: "l", typ: tar.TypeSymlink, link: "/etc/passwd"}), Limits{}},
		{"hard link", tarGz(t, entry{name: "a", body: "x"}, entry{name: "h", typ: tar.TypeLink, link: "a"}), Limits{}},
		{"device", tarGz(t, entry{name: "d", typ: tar.TypeChar}), Limits{}},
		{"duplicate", tarGz(t, entry{name: "a", body: "1"}, entry{name: "./a", body: "2"}), Limits{}},
		{"file under a file", tarGz(t, entry{name: "a", body: "1"}, entry{name: "a/b", body: "2"}), Limits{}},
		{"too many files", tarGz(t, entry{name: "a", body: "1"}, entry{name: "b", body: "2"}), Limits{MaxFiles: 1}},
		{"too many bytes", tarGz(t, entry{name: "a", body: "12345"}), Limits{MaxBytes: 4}},
		{"too many directories", tarGz(t, entry{name: "d1/", typ: tar.TypeDir}, entry{name: "d2/", typ: tar.TypeDir}, entry{name: "a", body: "1"}), Limits{MaxFiles: 2}},
		{"directories implied by a path", tarGz(t, entry{name: "a/b/c/d/e", body: "1"}), Limits{MaxFiles: 4}},
		{"directories count bytes", tarGz(t, entry{name: "d/", typ: tar.TypeDir}, entry{name: "a", body: "1"}), Limits{MaxBytes: DirBytes}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "v")
			_, err := Unpack(bytes.NewReader(c.archive), dst, c.lim)
			if !errors.Is(err, ErrBadArchive) {
				t.Fatalf("err = %v, want ErrBadArchive", err)
			}
			if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("destination left behind: %v", err)
			}
			if _, err := os.Lstat(outside); err == nil {
				t.Fatal("a file was written outside the destination")
			}
		})
	}
}

func TestUnpackAcceptsForeignTarLayout(t *testing.T) {
	// Another tool's archive (directory entries, "./" prefixes, other
	// order) of the same files has the same version as Pack's.
	src := writeTree(t, map[string]string{"host.json": "{}", "f/function.json": "[]"})
	want := mustPack(t, src).Version
	a := tarGz(t, entry{name: "./", typ: tar.TypeDir}, entry{name: "./f/", typ: tar.TypeDir},
		entry{name: "./f/function.json", body: "[]"}, entry{name: "./host.json", body: "{}"})
	got, err := Unpack(bytes.NewReader(a), filepath.Join(t.TempDir(), "v"), Limits{})
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}
	if got != want {
		t.Fatalf("version %s, want %s", got, want)
	}
}
