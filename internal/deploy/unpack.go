package deploy

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
)

// Limits bound what an archive may unpack to.
type Limits struct {
	MaxFiles int   // files and directories (each counts), default 100,000
	MaxBytes int64 // total unpacked bytes, directories at DirBytes each, default 2 GiB
}

// DirBytes is what one directory counts against Limits.MaxBytes: the disk
// block it takes, so a package of empty directories is bounded too.
const DirBytes = 4096

func (l Limits) withDefaults() Limits {
	if l.MaxFiles <= 0 {
		l.MaxFiles = 100_000
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = 2 << 30
	}
	return l
}

// ErrBadArchive marks an archive that is not a valid package.
var ErrBadArchive = errors.New("bad package archive")

// Unpack extracts a package archive (tar.gz of regular files and
// directories) into dst, which must not exist yet, and returns its content
// version. Absolute paths, "..", links, devices, duplicate entries and
// archives beyond lim are refused with ErrBadArchive; on any error dst is
// removed.
func Unpack(r io.Reader, dst string, lim Limits) (string, error) {
	if err := os.Mkdir(dst, 0o755); err != nil {
		return "", fmt.Errorf("unpack: %w", err)
	}
	files, err := extract(r, dst, lim.withDefaults())
	if err != nil {
		_ = os.RemoveAll(dst)
		return "", fmt.Errorf("unpack: %w", err)
	}
	return Version(files), nil
}

// extractor carries the state of one extraction.
type extractor struct {
	dst     string
	lim     Limits
	seen    map[string]bool
	dirs    map[string]bool // directories created, by slash path
	entries int             // files and directories created
	total   int64
	files   []File
}

func extract(r io.Reader, dst string, lim Limits) ([]File, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %v", ErrBadArchive, err)
	}
	defer gz.Close()
	x := &extractor{dst: dst, lim: lim, seen: map[string]bool{}, dirs: map[string]bool{".": true}}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: tar: %v", ErrBadArchive, err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return nil, err
		}
	}
	if len(x.files) == 0 {
		return nil, fmt.Errorf("%w: no files", ErrBadArchive)
	}
	return x.files, nil
}

func (x *extractor) entry(hdr *tar.Header, body io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader || hdr.Typeflag == tar.TypeDir && (hdr.Name == "./" || hdr.Name == ".") {
		return nil
	}
	rel, err := cleanPath(hdr.Name)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadArchive, err)
	}
	if x.seen[rel] {
		return fmt.Errorf("%w: entry %q appears twice", ErrBadArchive, rel)
	}
	x.seen[rel] = true
	target := filepath.Join(x.dst, filepath.FromSlash(rel))
	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.mkdir(target, rel)
	case tar.TypeReg:
		return x.file(hdr, rel, target, body)
	default:
		return fmt.Errorf("%w: entry %q: only files and directories are allowed (type %q)", ErrBadArchive, rel, hdr.Typeflag)
	}
}

func (x *extractor) mkdir(target, rel string) error {
	if err := x.countDirs(rel); err != nil {
		return err
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return fmt.Errorf("%w: entry %q: %v", ErrBadArchive, rel, err)
	}
	return nil
}

// countDirs counts the directory rel and every parent not yet created
// against the limits (directories implied by a file's path count too).
func (x *extractor) countDirs(rel string) error {
	for d := rel; !x.dirs[d]; d = path.Dir(d) {
		if err := x.count(DirBytes); err != nil {
			return err
		}
		x.dirs[d] = true
	}
	return nil
}

// count adds one entry of n bytes, refusing what passes the limits.
func (x *extractor) count(n int64) error {
	if x.entries >= x.lim.MaxFiles {
		return fmt.Errorf("%w: more than %d files and directories", ErrBadArchive, x.lim.MaxFiles)
	}
	if n < 0 || x.total+n > x.lim.MaxBytes {
		return fmt.Errorf("%w: more than %d bytes unpacked (a directory counts %d)", ErrBadArchive, x.lim.MaxBytes, DirBytes)
	}
	x.entries++
	x.total += n
	return nil
}

func (x *extractor) file(hdr *tar.Header, rel, target string, body io.Reader) error {
	if err := x.countDirs(path.Dir(rel)); err != nil {
		return err
	}
	if err := x.count(hdr.Size); err != nil {
		return err
	}
	f := File{Path: rel, Exec: hdr.Mode&0o111 != 0, Size: hdr.Size}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("%w: entry %q: %v", ErrBadArchive, rel, err)
	}
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, os.FileMode(f.mode()))
	if err != nil {
		return fmt.Errorf("%w: entry %q: %v", ErrBadArchive, rel, err)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), body)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%w: entry %q: %v", ErrBadArchive, rel, err)
	}
	copy(f.Hash[:], h.Sum(nil))
	x.files = append(x.files, f)
	return nil
}
