package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Version is one committed version of a blob as a watch sees it: a blob
// record written (Deleted false) or deleted.
type Version struct {
	Container, Name, ETag string
	Deleted               bool
}

// WatchBlobs follows a container's blob records: first the current record
// of every blob (DeliverLastPerSubject on the bucket's meta subjects),
// then every record written or deleted from then on, in stream order. It
// is an ordered consumer of the region's own bucket; the channel closes
// when ctx ends or the stream goes away (the container was deleted, or
// the store stopped). A missing container is ContainerNotFound.
func (s *Service) WatchBlobs(ctx context.Context, app, container string) (<-chan Version, error) {
	st, err := s.open(ctx, app, container)
	if err != nil {
		return nil, err
	}
	w, err := st.Watch(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch container %s/%s: %w", app, container, err)
	}
	out := make(chan Version, 64)
	go func() {
		defer close(out)
		defer func() { _ = w.Stop() }()
		for {
			select {
			case <-ctx.Done():
				return
			case info, ok := <-w.Updates():
				if !ok {
					return
				}
				if v, ok := versionOf(container, info); ok {
					select {
					case out <- v:
					case <-ctx.Done():
						return
					}
				}
			}
		}
	}()
	return out, nil
}

func versionOf(container string, info *jetstream.ObjectInfo) (Version, bool) {
	if info == nil {
		return Version{}, false // the end of the initial state
	}
	name, ok := strings.CutPrefix(info.Name, "b/")
	if !ok {
		return Version{}, false
	}
	if info.Deleted {
		return Version{Container: container, Name: name, Deleted: true}, true
	}
	b := blobOf(info)
	if b == nil {
		return Version{}, false
	}
	return Version{Container: container, Name: name, ETag: b.ETag}, true
}

// ReadAll returns a blob's record and its whole content; a missing blob
// or container is a *Error with status 404 (IsNotFound).
func (s *Service) ReadAll(ctx context.Context, app, container, name string) (*Blob, []byte, error) {
	st, b, err := s.GetBlob(ctx, app, container, name, conditions{})
	if err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	buf.Grow(int(b.Size))
	if err := s.ReadBlob(ctx, st, b, 0, b.Size, &buf); err != nil {
		return nil, nil, fmt.Errorf("read blob %s/%s: %w", container, name, err)
	}
	return b, buf.Bytes(), nil
}

// WriteAll stores body as a block blob, creating the container when it
// does not exist (as the Functions blob output binding does).
// It returns once Options.Stored accepted the write (sync mode).
func (s *Service) WriteAll(ctx context.Context, app, container, name string, body []byte, contentType string) (*Blob, error) {
	ctx, wl := withWriteLog(ctx)
	b, err := s.writeAll(ctx, app, container, name, body, contentType)
	if err != nil {
		return nil, err
	}
	if err := s.awaitStored(ctx, app, wl); err != nil {
		return nil, err
	}
	return b, nil
}

func (s *Service) writeAll(ctx context.Context, app, container, name string, body []byte, contentType string) (*Blob, error) {
	req := PutRequest{Props: Properties{ContentType: contentType}}
	b, _, err := s.PutBlob(ctx, app, container, name, bytes.NewReader(body), req)
	if IsNotFound(err) {
		if _, cerr := s.CreateContainer(ctx, app, container, nil); cerr != nil && !isCode(cerr, "ContainerAlreadyExists") {
			return nil, fmt.Errorf("create container %s for a blob output: %w", container, cerr)
		}
		b, _, err = s.PutBlob(ctx, app, container, name, bytes.NewReader(body), req)
	}
	return b, err
}

// IsNotFound reports a missing blob or container.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

func isCode(err error, code string) bool {
	e := asError(err)
	return e != nil && e.Code == code
}
