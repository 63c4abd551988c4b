package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/tandemhq/tandem/internal/storage"
)

// Service-level requests of an account: Get/Set Blob Service Properties,
// Get Blob Service Stats and Get Account Information. The properties are
// stored (not acted on) in a bucket of the account's own,
// "<region>_B_<app>_-service": a name no container can have (container
// names start with a letter or digit), replicated like the containers.

const serviceBucketName = "-service"

// maxPropsBytes bounds a Set Service Properties body.
const maxPropsBytes = 64 << 10

// serviceProps is the stored record.
type serviceProps struct {
	Props storage.ServiceProperties `json:"props"`
}

func (s *Service) routeService(q *request) bool {
	switch key(q.r.Method, q.restype+"/"+q.comp) {
	case "GET service/properties":
		p, err := s.ServiceProperties(q.r.Context(), q.t.account)
		if err != nil {
			s.fail(q.w, q.r, err)
			return true
		}
		storage.WriteXML(q.w, http.StatusOK, p)
	case "PUT service/properties":
		s.setServiceProperties(q)
	case "GET service/stats":
		storage.WriteXML(q.w, http.StatusOK, s.stats())
	case "GET account/properties", "HEAD account/properties":
		h := q.w.Header()
		h.Set("x-ms-sku-name", "Standard_RAGRS")
		h.Set("x-ms-account-kind", "StorageV2")
		h.Set("x-ms-is-hns-enabled", "false")
		ok(q.w, http.StatusOK)
	default:
		return false
	}
	return true
}

func (s *Service) stats() storage.ServiceStats {
	if s.opts.GeoReplication != nil {
		status, last := s.opts.GeoReplication()
		return storage.NewServiceStats(status, last)
	}
	return storage.NewServiceStats("live", s.clock.Now())
}

func (s *Service) setServiceProperties(q *request) {
	data, err := io.ReadAll(http.MaxBytesReader(q.w, q.r.Body, maxPropsBytes))
	if err != nil {
		s.fail(q.w, q.r, errTooLarge("service properties: %v", err))
		return
	}
	set, err := storage.ParseServiceProperties(data)
	if err == nil {
		err = s.SetServiceProperties(q.r.Context(), q.t.account, set)
	}
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	ok(q.w, http.StatusAccepted)
}

// ServiceProperties returns the account's Blob service properties (the
// defaults until some were set).
func (s *Service) ServiceProperties(ctx context.Context, app string) (storage.ServiceProperties, error) {
	st, err := s.open(ctx, app, serviceBucketName)
	if errors.Is(err, ErrNotFound) {
		return storage.DefaultServiceProperties(), nil
	}
	if err != nil {
		return storage.ServiceProperties{}, err
	}
	var rec serviceProps
	_, found, err := s.readRecord(ctx, st, "p", &rec)
	if err != nil || !found {
		return storage.DefaultServiceProperties(), err
	}
	return rec.Props, nil
}

// SetServiceProperties merges set into the stored properties.
func (s *Service) SetServiceProperties(ctx context.Context, app string, set storage.ServiceProperties) error {
	st, err := s.open(ctx, app, serviceBucketName)
	if errors.Is(err, ErrNotFound) && !s.readOnly() {
		st, err = s.createServiceBucket(ctx, app)
	}
	if err != nil {
		return fmt.Errorf("set service properties of %s: %w", app, err)
	}
	var rec serviceProps
	seq, found, err := s.readRecord(ctx, st, "p", &rec)
	if err != nil {
		return err
	}
	if !found {
		rec.Props = storage.DefaultServiceProperties()
	}
	rec.Props = rec.Props.Merge(set)
	return s.writeRecord(ctx, st, "p", rec, seq)
}

func (s *Service) createServiceBucket(ctx context.Context, app string) (store, error) {
	cfg := s.bucketConfig(app, serviceBucketName)
	cfg.Description, cfg.MaxBytes = "Tandem blob service properties of "+app, 1<<20
	if err := s.createStream(ctx, cfg); err != nil {
		return store{}, err
	}
	return s.open(ctx, app, serviceBucketName)
}
