// Package deploy holds what installs Tandem on machines of one's own (the
// systemd units under deploy/systemd; the Dockerfile is at the repository
// root) and the tests that keep those files and docs/operations.md true
// to the binary: a unit, the image or the guide that names a flag the
// binary no longer has fails here rather than in production. It has no
// code of its own; the tests run the real binary, systemd-analyze and
// BuildKit's Dockerfile parser.
package deploy
