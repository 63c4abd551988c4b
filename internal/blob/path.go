package blob

import (
	"strings"
)

// target is what a request path names: the account, and optionally a
// container and a blob in it.
type target struct {
	account, container, blob string
}

// maxBlobNameBytes is Azure's limit on a blob name.
const maxBlobNameBytes = 1024

// parsePath splits "<account>[/<container>[/<blob>]]" (the path after the
// mount prefix, already unescaped) and validates the names.
func parsePath(p string) (target, error) {
	p = strings.TrimPrefix(p, "/")
	var t target
	var rest string
	t.account, rest, _ = strings.Cut(p, "/")
	if t.account == "" {
		return t, invalid("InvalidUri", "the path names no account: want /<account>/<container>/<blob>")
	}
	t.container, t.blob, _ = strings.Cut(rest, "/")
	if t.container == "" && t.blob == "" {
		return t, nil
	}
	if err := validContainer(t.container); err != nil {
		return t, err
	}
	if t.blob != "" {
		return t, validBlobName(t.blob)
	}
	return t, nil
}

// validContainer checks Azure's container naming rules: 3-63 characters,
// lower-case letters, digits and single hyphens, starting and ending with a
// letter or digit.
func validContainer(name string) error {
	bad := invalid("InvalidResourceName", "container name %q is invalid: use 3-63 lower-case letters, digits or single hyphens, starting and ending with a letter or digit", name)
	if len(name) < 3 || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' || strings.Contains(name, "--") {
		return bad
	}
	for _, c := range name {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return bad
		}
	}
	return nil
}

// validBlobName checks a blob name: 1-1024 bytes, no NUL (Tandem keeps it
// as a separator of its own object names).
func validBlobName(name string) error {
	if name == "" || len(name) > maxBlobNameBytes {
		return invalid("InvalidResourceName", "blob name must be 1 to %d bytes long, got %d", maxBlobNameBytes, len(name))
	}
	if strings.ContainsRune(name, 0) {
		return invalid("InvalidResourceName", "blob name %q contains a NUL character", name)
	}
	return nil
}
