package blob

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Container is a container's properties.
type Container struct {
	Name     string            `json:"-"`
	ETag     string            `json:"etag"`
	Created  time.Time         `json:"created"`
	Modified time.Time         `json:"modified"`
	Metadata map[string]string `json:"meta,omitempty"`
}

func (c Container) state() state { return state{exists: true, etag: c.ETag, modified: c.Modified} }

// CreateContainer creates app's container with metadata.
func (s *Service) CreateContainer(ctx context.Context, app, name string, meta map[string]string) (Container, error) {
	c, err := s.createContainer(ctx, app, name, meta)
	if err != nil {
		return Container{}, fmt.Errorf("create container %s/%s: %w", app, name, err)
	}
	return c, nil
}

func (s *Service) createContainer(ctx context.Context, app, name string, meta map[string]string) (Container, error) {
	if err := validContainer(name); err != nil {
		return Container{}, err
	}
	st, err := s.open(ctx, app, name)
	if errors.Is(err, ErrNotFound) && s.readOnly() {
		return Container{}, errReplica(s.BucketName(app, name), "the primary region")
	}
	if errors.Is(err, ErrNotFound) {
		st, err = s.createBucket(ctx, app, name)
	}
	if err == nil {
		err = st.writable()
	}
	if err != nil {
		return Container{}, err
	}
	var cur Container
	seq, ok, err := s.readRecord(ctx, st, containerObject, &cur)
	if err != nil {
		return Container{}, err
	}
	if ok {
		return Container{}, newError(ErrConflict, http.StatusConflict, "ContainerAlreadyExists", "the specified container %q already exists", name)
	}
	now := s.clock.Now().UTC()
	c := Container{Name: name, ETag: s.etags.next(now), Created: now, Modified: now, Metadata: meta}
	if err := s.writeRecord(ctx, st, containerObject, c, seq); errors.Is(err, ErrPrecondition) {
		return Container{}, newError(ErrConflict, http.StatusConflict, "ContainerAlreadyExists", "the specified container %q already exists", name)
	} else if err != nil {
		return Container{}, err
	}
	return c, nil
}

func (s *Service) createBucket(ctx context.Context, app, name string) (store, error) {
	if err := s.createStream(ctx, s.bucketConfig(app, name)); err != nil {
		return store{}, err
	}
	return s.open(ctx, app, name)
}

// createStream creates an object store bucket's stream as nats.go's
// CreateObjectStore does, plus per-message TTLs (its config has no field
// for them) so the markers of deleted data expire (Options.TombstoneTTL).
// The stream has them from the start: a mirror copies its origin's config
// when it is created and never after.
func (s *Service) createStream(ctx context.Context, cfg jetstream.ObjectStoreConfig) error {
	_, err := s.js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "OBJ_" + cfg.Bucket, Description: cfg.Description,
		Subjects: []string{"$O." + cfg.Bucket + ".C.>", "$O." + cfg.Bucket + ".M.>"},
		MaxBytes: cfg.MaxBytes, Storage: cfg.Storage, Replicas: max(cfg.Replicas, 1),
		Discard: jetstream.DiscardNew, AllowRollup: true, AllowDirect: true, AllowMsgTTL: true,
	})
	if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return fmt.Errorf("create bucket %s: %w", cfg.Bucket, err)
	}
	return nil
}

// GetContainer returns a container's properties, or ContainerNotFound.
func (s *Service) GetContainer(ctx context.Context, app, name string) (Container, error) {
	_, c, _, err := s.container(ctx, app, name)
	return c, err
}

// container opens a container and reads its record.
func (s *Service) container(ctx context.Context, app, name string) (store, Container, uint64, error) {
	st, err := s.open(ctx, app, name)
	if err != nil {
		return store{}, Container{}, 0, err
	}
	var c Container
	seq, ok, err := s.readRecord(ctx, st, containerObject, &c)
	if errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrBucketNotFound) {
		s.evict(st.name) // deleted under us
		return store{}, Container{}, 0, errContainerNotFound(name)
	}
	if err != nil {
		return store{}, Container{}, 0, fmt.Errorf("container %s/%s: %w", app, name, err)
	}
	if !ok {
		return store{}, Container{}, 0, errContainerNotFound(name) // a create interrupted half-way
	}
	c.Name = name
	return st, c, seq, nil
}

// SetContainerMetadata replaces a container's metadata.
func (s *Service) SetContainerMetadata(ctx context.Context, app, name string, meta map[string]string, cond conditions) (Container, error) {
	st, c, seq, err := s.container(ctx, app, name)
	if err != nil {
		return Container{}, err
	}
	if err := cond.check(c.state(), false); err != nil {
		return Container{}, err
	}
	now := s.clock.Now().UTC()
	c.Metadata, c.ETag, c.Modified = meta, s.etags.next(now), now
	if err := s.writeRecord(ctx, st, containerObject, c, seq); err != nil {
		return Container{}, fmt.Errorf("set metadata of container %s/%s: %w", app, name, err)
	}
	return c, nil
}

// DeleteContainer deletes a container and every blob in it.
func (s *Service) DeleteContainer(ctx context.Context, app, name string, cond conditions) error {
	st, c, _, err := s.container(ctx, app, name)
	if err != nil {
		return err
	}
	if err := st.writable(); err != nil {
		return err
	}
	if err := cond.check(c.state(), false); err != nil {
		return err
	}
	s.evict(st.name)
	if err := s.js.DeleteObjectStore(ctx, st.name); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return fmt.Errorf("delete container %s/%s: %w", app, name, err)
	}
	return nil
}

// ContainerNames lists an app's container names, sorted.
func (s *Service) ContainerNames(ctx context.Context, app string) ([]string, error) {
	prefix := "OBJ_" + s.bucketPrefix(app)
	lister := s.js.StreamNames(ctx)
	var names []string
	for n := range lister.Name() {
		if c, ok := strings.CutPrefix(n, prefix); ok && validContainer(c) == nil {
			names = append(names, c)
		}
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("list containers of %s: %w", app, err)
	}
	slices.Sort(names)
	return names, nil
}
