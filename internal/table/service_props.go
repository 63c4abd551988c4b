package table

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/storage"
)

// Service properties and stats (?restype=service&comp=properties|stats),
// which the SDKs' GetProperties, SetProperties and GetStatistics call.
// Properties are kept per account in the accounts bucket under
// "props.<app>" (an app name has no '.'), so they are replicated and
// fail over with the account.

const propsKeyPrefix = "props."

// maxPropsBytes bounds a Set Service Properties body.
const maxPropsBytes = 64 << 10

func (s *Service) serveService(q *request) {
	switch {
	case q.res.comp == "properties" && q.r.Method == http.MethodGet:
		p, err := s.ServiceProperties(q.r.Context(), q.account)
		if err != nil {
			s.fail(q.w, q.r, err)
			return
		}
		storage.WriteXML(q.w, http.StatusOK, p)
	case q.res.comp == "properties" && q.r.Method == http.MethodPut:
		s.setServicePropertiesREST(q)
	case q.res.comp == "stats" && q.r.Method == http.MethodGet:
		storage.WriteXML(q.w, http.StatusOK, s.stats())
	default:
		s.badVerb(q)
	}
}

func (s *Service) setServicePropertiesREST(q *request) {
	data, err := io.ReadAll(http.MaxBytesReader(q.w, q.r.Body, maxPropsBytes))
	if err != nil {
		s.fail(q.w, q.r, invalid("RequestBodyTooLarge", "service properties: %v", err))
		return
	}
	set, err := storage.ParseServiceProperties(data)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	if err := s.SetServiceProperties(q.r.Context(), q.account, set); err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	q.w.WriteHeader(http.StatusAccepted)
}

// stats is the geo-replication state Options.GeoReplication reports
// (live, as of now, without it).
func (s *Service) stats() storage.ServiceStats {
	if s.opts.GeoReplication != nil {
		status, last := s.opts.GeoReplication()
		return storage.NewServiceStats(status, last)
	}
	return storage.NewServiceStats("live", s.clock.Now())
}

// ServiceProperties returns the app's Table service properties (the
// defaults until some were set).
func (s *Service) ServiceProperties(ctx context.Context, app string) (storage.ServiceProperties, error) {
	return PropertiesStore{s, propsKeyPrefix}.ServiceProperties(ctx, app)
}

// Stats is what Get Service Stats answers for this region: the
// geo-replication state Options.GeoReplication reports.
func (s *Service) Stats() storage.ServiceStats { return s.stats() }

// PropertiesStore keeps one Storage service's properties per account in
// the accounts bucket (replicated and failed over with the account), under
// its own key prefix.
type PropertiesStore struct {
	s      *Service
	prefix string
}

// QueueProperties keeps the Queue service's properties ("qprops.<app>").
func (s *Service) QueueProperties() PropertiesStore { return PropertiesStore{s, "qprops."} }

// ServiceProperties returns the app's properties (the defaults until some
// were set).
func (p PropertiesStore) ServiceProperties(ctx context.Context, app string) (storage.ServiceProperties, error) {
	props, _, err := p.s.loadProps(ctx, p.prefix, app)
	if err != nil {
		return props, fmt.Errorf("service properties of %s: %w", app, err)
	}
	return props, nil
}

// SetServiceProperties replaces the elements set carries.
func (p PropertiesStore) SetServiceProperties(ctx context.Context, app string, set storage.ServiceProperties) error {
	if err := p.s.setProps(ctx, p.prefix, app, set); err != nil {
		return fmt.Errorf("set service properties of %s: %w", app, err)
	}
	return nil
}

func (s *Service) loadProps(ctx context.Context, prefix, app string) (storage.ServiceProperties, uint64, error) {
	def := storage.DefaultServiceProperties()
	if err := validApp(app); err != nil {
		return def, 0, err
	}
	kv, err := s.sysBucket(ctx, accountKind)
	if err != nil {
		return def, 0, err
	}
	entry, err := kv.Get(ctx, prefix+app)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return def, 0, nil
	}
	if err != nil {
		return def, 0, err
	}
	var p storage.ServiceProperties
	if err := xml.Unmarshal(entry.Value(), &p); err != nil {
		return def, 0, fmt.Errorf("stored properties: %w", err)
	}
	return def.Merge(p), entry.Revision(), nil
}

// SetServiceProperties replaces the elements set carries.
func (s *Service) SetServiceProperties(ctx context.Context, app string, set storage.ServiceProperties) error {
	return PropertiesStore{s, propsKeyPrefix}.SetServiceProperties(ctx, app, set)
}

func (s *Service) setProps(ctx context.Context, prefix, app string, set storage.ServiceProperties) error {
	kv, err := s.sysBucket(ctx, accountKind)
	if err != nil {
		return err
	}
	for range maxCASAttempts {
		cur, rev, err := s.loadProps(ctx, prefix, app)
		if err != nil {
			return err
		}
		data, err := xml.Marshal(cur.Merge(set))
		if err != nil {
			return err
		}
		if rev == 0 {
			_, err = kv.Create(ctx, prefix+app, data)
		} else {
			_, err = kv.Update(ctx, prefix+app, data, rev)
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return err
		}
	}
	return fmt.Errorf("gave up after %d conflicting writes", maxCASAttempts)
}
