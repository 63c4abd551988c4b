// Package deploy ships function apps to regions as versioned packages.
//
// `tandem deploy` packs an app folder into a deterministic tar.gz whose
// version is a hash of its content (Pack), and uploads it to every region's
// admin API. A region keeps its packages in its own JetStream object store
// (bucket <region>_packages: objects <app>/<version> and a pointer
// <app>/current), unpacks them under <data>/apps/<app>/<version>/ and
// switches the app over with in-flight requests drained (Manager). On
// restart a region loads the current version of every app from its store;
// a secondary also follows the primary's store across the leafnode and
// installs any newer deploy it missed. `tandem status` compares the
// versions across regions and flags drift (Compare).
package deploy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// File is one file of a package.
type File struct {
	Path string // slash-separated, relative to the app root
	Exec bool   // executable (mode 0755, else 0644)
	Size int64
	Hash [sha256.Size]byte
}

// mode is the file's normalized permission bits.
func (f File) mode() int64 {
	if f.Exec {
		return 0o755
	}
	return 0o644
}

// Version is the content hash of a set of files: sha256 over, in path
// order, "<path> NUL <mode> NUL <sha256 hex of contents> LF". It does not
// depend on timestamps, owners, archive layout or compression, so the CLI
// and a region compute the same value from the folder and from the archive.
func Version(files []File) string {
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	h := sha256.New()
	for _, f := range sorted {
		fmt.Fprintf(h, "%s\x00%04o\x00%x\n", f.Path, f.mode(), f.Hash)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Short is the version's first 12 characters, for display.
func Short(version string) string {
	if len(version) > 12 {
		return version[:12]
	}
	return version
}

// Packed is an app folder as a package.
type Packed struct {
	Archive []byte // tar.gz
	Version string
	Files   []File
}

// Pack archives the app folder dir: every regular file (symbolic links to
// files are stored as the file), except .git and what .funcignore
// excludes. The archive is byte-for-byte deterministic: entries in path
// order, zero timestamps and owners, modes 0644 or 0755.
func Pack(dir string) (*Packed, error) {
	ig, err := loadIgnore(dir)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	paths, err := listFiles(dir, ig)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("pack %s: no files to pack", dir)
	}
	p, err := archive(dir, paths)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	return p, nil
}

func loadIgnore(dir string) (*Ignore, error) {
	data, err := os.ReadFile(filepath.Join(dir, IgnoreFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", IgnoreFile, err)
	}
	return ParseIgnore(data)
}

// listFiles walks dir and returns the slash paths of the files to pack.
func listFiles(dir string, ig *Ignore) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		isDir, err := entryIsDir(p, d)
		if err != nil {
			return err
		}
		if d.Name() == ".git" || ig.Match(rel, isDir) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !isDir {
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// entryIsDir classifies an entry, following symbolic links; a link to a
// directory, a device or a socket is an error naming it.
func entryIsDir(p string, d fs.DirEntry) (bool, error) {
	if d.IsDir() {
		return true, nil
	}
	if d.Type().IsRegular() {
		return false, nil
	}
	st, err := os.Stat(p)
	if err != nil {
		return false, fmt.Errorf("%s: %w", p, err)
	}
	if !st.Mode().IsRegular() {
		return false, fmt.Errorf("%s: only regular files and links to files can be packed (mode %s)", p, st.Mode())
	}
	return false, nil
}

func archive(dir string, paths []string) (*Packed, error) {
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // valid level
	tw := tar.NewWriter(gz)
	files := make([]File, 0, len(paths))
	for _, rel := range paths {
		f, err := addFile(tw, dir, rel)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close tar: %w", err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("close gzip: %w", err)
	}
	return &Packed{Archive: buf.Bytes(), Version: Version(files), Files: files}, nil
}

func addFile(tw *tar.Writer, dir, rel string) (File, error) {
	fh, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		return File{}, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return File{}, err
	}
	f := File{Path: rel, Exec: st.Mode().Perm()&0o111 != 0, Size: st.Size()}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: f.mode(), Size: f.Size, ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(hdr); err != nil {
		return File{}, fmt.Errorf("%s: %w", rel, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, h), io.LimitReader(fh, f.Size))
	if err != nil {
		return File{}, fmt.Errorf("%s: %w", rel, err)
	}
	if n != f.Size {
		return File{}, fmt.Errorf("%s: changed while packing (%d of %d bytes)", rel, n, f.Size)
	}
	copy(f.Hash[:], h.Sum(nil))
	return f, nil
}

// cleanPath checks an archive entry name: relative, slash-separated, no
// "..", no empty or "." segments after cleaning.
func cleanPath(name string) (string, error) {
	name = strings.TrimPrefix(name, "./")
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("entry %q: not a relative slash path", name)
	}
	for _, seg := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("entry %q: empty, '.' or '..' path segment", name)
		}
	}
	return strings.TrimSuffix(name, "/"), nil
}
