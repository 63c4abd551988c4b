package keys

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MasterFile is the master key's file name in the region's directory.
const MasterFile = "master.key"

// Generate returns a new key value: 40 random bytes in URL-safe base64
// with padding (56 characters), the shape of Azure's generated keys.
func Generate() (string, error) {
	return generate(rand.Reader)
}

func generate(r io.Reader) (string, error) {
	b := make([]byte, 40)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	return base64.URLEncoding.EncodeToString(b), nil
}

// LoadMaster returns the region's master key, kept in dir/master.key (mode
// 0600). On first start it takes env (the value of TANDEM_MASTER_KEY) when
// set, otherwise it generates one, and writes the file; later starts read
// the file and ignore env. created reports a first start. The caller may
// log path but never key.
func LoadMaster(dir, env string) (key, path string, created bool, err error) {
	path = filepath.Join(dir, MasterFile)
	key, err = readMaster(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, path, false, err
	}
	key = strings.TrimSpace(env)
	if err := CheckUserValue(key); key != "" && err != nil {
		return "", path, false, fmt.Errorf("load master key: TANDEM_MASTER_KEY: %w", err)
	}
	if key == "" {
		if key, err = Generate(); err != nil {
			return "", path, false, fmt.Errorf("load master key: %w", err)
		}
	}
	won, err := createMaster(dir, path, key)
	if err != nil {
		return "", path, false, fmt.Errorf("load master key: %w", err)
	}
	if !won { // another process wrote it first
		key, err = readMaster(path)
		return key, path, false, err
	}
	return key, path, true, nil
}

func readMaster(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read master key %s: %w", path, err)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", fmt.Errorf("read master key %s: the file is empty; delete it to generate a new key", path)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return "", fmt.Errorf("master key %s: restrict to 0600: %w", path, err)
	}
	return key, nil
}

// createMaster writes key to path unless the file exists, atomically: a
// synced temporary file hard-linked into place. It reports whether this
// call created the file.
func createMaster(dir, path, key string) (bool, error) {
	tmp, err := writeTemp(dir, key)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("create %s: %w", path, err)
	}
	return true, syncDir(dir)
}

// replaceMaster overwrites path with key atomically.
func replaceMaster(path, key string) error {
	dir := filepath.Dir(path)
	tmp, err := writeTemp(dir, key)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return syncDir(dir)
}

func writeTemp(dir, key string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".master-*.tmp")
	if err != nil {
		return "", fmt.Errorf("write master key: %w", err)
	}
	name := f.Name()
	err = errors.Join(f.Chmod(0o600), writeAll(f, key+"\n"), f.Sync(), f.Close())
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("write master key %s: %w", name, err)
	}
	return name, nil
}

func writeAll(f *os.File, s string) error {
	_, err := f.WriteString(s)
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// checkValue rejects key values that cannot travel in a header or query.
// MinUserKeyLength is the fewest characters a key value given by a user
// (TANDEM_MASTER_KEY, a PUT of a key) may have. Azure generates keys of 40
// random bytes (56 characters, as Generate does); 16 characters is the
// least that is not guessable by brute force over HTTP.
const MinUserKeyLength = 16

// CheckUserValue checks a key value a user supplied: a valid value of at
// least MinUserKeyLength characters.
func CheckUserValue(v string) error {
	if err := checkValue(v); err != nil {
		return err
	}
	if n := len([]rune(v)); n < MinUserKeyLength {
		return fmt.Errorf("the value has %d characters: a key needs at least %d (omit the value to have one generated, as Azure's 56-character keys are)", n, MinUserKeyLength)
	}
	return nil
}

func checkValue(v string) error {
	if v == "" {
		return errors.New("the value is empty")
	}
	if len(v) > 4096 {
		return errors.New("the value is longer than 4096 bytes")
	}
	for _, c := range v {
		if c <= ' ' || c == 0x7f {
			return errors.New("the value contains spaces or control characters")
		}
	}
	return nil
}
