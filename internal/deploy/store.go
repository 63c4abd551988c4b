package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
)

// Package describes an app's deployed version in one region.
type Package struct {
	App     string `json:"app"`
	Version string `json:"version"`
	// DeployedAt is when the deploy was made (the deployer's clock, kept
	// when another region catches up); the newest deploy wins.
	DeployedAt time.Time `json:"deployedAt"`
	// ActivatedAt is when this region switched to the version.
	ActivatedAt time.Time `json:"activatedAt"`
	Size        int64     `json:"size"`   // archive bytes
	Source      string    `json:"source"` // "deploy", or the region it was caught up from
}

// Metadata keys of a stored object.
const (
	metaApp       = "app"
	metaVersion   = "version"
	metaDeployed  = "deployed-at"
	metaActivated = "activated-at"
	metaSize      = "size"
	metaSource    = "source"
	currentName   = "current"
)

// BucketKind is the broker.Name kind of the packages object store:
// "<region>_packages".
const BucketKind = "packages"

// ErrNotDeployed is returned for an app that has no package in a region.
var ErrNotDeployed = errors.New("no package deployed")

// store is a region's packages bucket: <app>/<version> holds an archive,
// <app>/current a pointer whose metadata is the Package.
type store struct {
	obs jetstream.ObjectStore
}

func versionObject(app, version string) string { return app + "/" + version }
func currentObject(app string) string          { return app + "/" + currentName }

func (p Package) metadata() map[string]string {
	return map[string]string{
		metaApp: p.App, metaVersion: p.Version, metaSize: strconv.FormatInt(p.Size, 10), metaSource: p.Source,
		metaDeployed: p.DeployedAt.UTC().Format(time.RFC3339Nano), metaActivated: p.ActivatedAt.UTC().Format(time.RFC3339Nano),
	}
}

// packageFromMeta reads a pointer's metadata.
func packageFromMeta(m map[string]string) (Package, error) {
	p := Package{App: m[metaApp], Version: m[metaVersion], Source: m[metaSource]}
	var err1, err2, err3 error
	p.Size, err1 = strconv.ParseInt(m[metaSize], 10, 64)
	p.DeployedAt, err2 = time.Parse(time.RFC3339Nano, m[metaDeployed])
	p.ActivatedAt, err3 = time.Parse(time.RFC3339Nano, m[metaActivated])
	if err := errors.Join(err1, err2, err3); err != nil || p.App == "" || p.Version == "" {
		return Package{}, fmt.Errorf("package pointer metadata %v: %w", m, errors.Join(err, errors.New("app and version required")))
	}
	return p, nil
}

// putArchive stores an archive as <app>/<version> unless it is there, and
// reports whether it stored it.
func (s store) putArchive(ctx context.Context, p Package, archive []byte) (bool, error) {
	name := versionObject(p.App, p.Version)
	if info, err := s.obs.GetInfo(ctx, name); err == nil && info.Size == uint64(len(archive)) {
		return false, nil
	}
	meta := jetstream.ObjectMeta{Name: name, Description: "tandem app package " + p.App, Metadata: p.metadata()}
	if _, err := s.obs.Put(ctx, meta, bytes.NewReader(archive)); err != nil {
		return false, fmt.Errorf("store package %s: %w", name, err)
	}
	return true, nil
}

// remove deletes the stored archive <app>/<version>.
func (s store) remove(ctx context.Context, app, version string) error {
	if err := s.obs.Delete(ctx, versionObject(app, version)); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("delete package %s/%s: %w", app, Short(version), err)
	}
	return nil
}

// archive reads <app>/<version>.
func (s store) archive(ctx context.Context, app, version string) ([]byte, error) {
	b, err := s.obs.GetBytes(ctx, versionObject(app, version))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("read package %s/%s: %w", app, Short(version), ErrNotDeployed)
	}
	if err != nil {
		return nil, fmt.Errorf("read package %s/%s: %w", app, Short(version), err)
	}
	return b, nil
}

// setCurrent points <app>/current at p.
func (s store) setCurrent(ctx context.Context, p Package) error {
	body, _ := json.Marshal(p) // plain struct
	meta := jetstream.ObjectMeta{Name: currentObject(p.App), Description: "current package of " + p.App, Metadata: p.metadata()}
	if _, err := s.obs.Put(ctx, meta, bytes.NewReader(body)); err != nil {
		return fmt.Errorf("set current package of %s: %w", p.App, err)
	}
	return nil
}

// current returns the app's pointer, ErrNotDeployed when there is none.
func (s store) current(ctx context.Context, app string) (Package, error) {
	info, err := s.obs.GetInfo(ctx, currentObject(app))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return Package{}, fmt.Errorf("app %s: %w", app, ErrNotDeployed)
	}
	if err != nil {
		return Package{}, fmt.Errorf("app %s: read current package: %w", app, err)
	}
	return packageFromMeta(info.Metadata)
}

// list returns every app's pointer, in app order.
func (s store) list(ctx context.Context) ([]Package, error) {
	infos, err := s.listInfos(ctx)
	if err != nil {
		return nil, err
	}
	var out []Package
	for _, info := range infos {
		if _, v, _ := strings.Cut(info.Name, "/"); v != currentName {
			continue
		}
		p, err := packageFromMeta(info.Metadata)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].App < out[j].App })
	return out, nil
}

func (s store) listInfos(ctx context.Context) ([]*jetstream.ObjectInfo, error) {
	var infos []*jetstream.ObjectInfo
	// A read: safe to repeat while a replicated store elects its leader.
	err := broker.RetryTransient(ctx, "list packages", func(ctx context.Context) error {
		var err error
		infos, err = s.obs.List(ctx)
		return err
	})
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list packages: %w", err)
	}
	return infos, nil
}

// prune deletes stored versions of app other than keepVersion, keeping
// the newest keep-1 others for a quick roll back.
func (s store) prune(ctx context.Context, app, keepVersion string, keep int) error {
	infos, err := s.listInfos(ctx)
	if err != nil {
		return err
	}
	var old []*jetstream.ObjectInfo
	for _, info := range infos {
		a, v, _ := strings.Cut(info.Name, "/")
		if a == app && v != currentName && v != keepVersion {
			old = append(old, info)
		}
	}
	sort.Slice(old, func(i, j int) bool { return old[i].ModTime.After(old[j].ModTime) })
	var errs []error
	for i := max(keep-1, 0); i < len(old); i++ {
		errs = append(errs, s.obs.Delete(ctx, old[i].Name))
	}
	return errors.Join(errs...)
}

// readAll reads at most limit bytes of r, failing beyond.
func readAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("package larger than %d bytes", limit)
	}
	return b, nil
}
