package table

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The table catalog: which tables an app has, under their names as created.

const catalogKind = "TC"

type catalogEntry struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

func catalogKey(app, table string) string { return app + "." + strings.ToLower(table) }

// CreateTable creates a table; ErrConflict (TableAlreadyExists) if an app's
// table with that name, in any letter case, exists.
func (s *Service) CreateTable(ctx context.Context, app, table string) error {
	if err := s.createTable(ctx, app, table); err != nil {
		return fmt.Errorf("create table %s/%s: %w", app, table, err)
	}
	return nil
}

func (s *Service) createTable(ctx context.Context, app, table string) error {
	if err := validApp(app); err != nil {
		return err
	}
	if err := ValidTableName(table); err != nil {
		return err
	}
	catalog, err := s.sysBucket(ctx, catalogKind)
	if err != nil {
		return err
	}
	data, _ := json.Marshal(catalogEntry{Name: table, Created: s.clock.Now().UTC()})
	key := catalogKey(app, table)
	if _, err := catalog.Create(ctx, key, data); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return newError(ErrConflict, http.StatusConflict, "TableAlreadyExists", "table %q already exists", table)
		}
		return err
	}
	if _, err := s.createBucket(ctx, app, table); err != nil {
		_ = catalog.Delete(ctx, key)
		return err
	}
	s.log.Info("table created", "app", app, "table", table)
	return nil
}

// EnsureTable creates the table unless it exists.
func (s *Service) EnsureTable(ctx context.Context, app, table string) error {
	err := s.CreateTable(ctx, app, table)
	if errors.Is(err, ErrConflict) {
		return nil
	}
	return err
}

// DeleteTable deletes a table and all its entities.
func (s *Service) DeleteTable(ctx context.Context, app, table string) error {
	if err := s.deleteTable(ctx, app, table); err != nil {
		return fmt.Errorf("delete table %s/%s: %w", app, table, err)
	}
	return nil
}

func (s *Service) deleteTable(ctx context.Context, app, table string) error {
	if err := validApp(app); err != nil {
		return err
	}
	if err := ValidTableName(table); err != nil {
		return err
	}
	catalog, err := s.sysBucket(ctx, catalogKind)
	if err != nil {
		return err
	}
	key := catalogKey(app, table)
	entry, err := catalog.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return newError(ErrNotFound, http.StatusNotFound, "ResourceNotFound", "table %q does not exist", table)
	}
	if err != nil {
		return err
	}
	name := s.bucketName(app, table)
	s.evict(name)
	if err := s.js.DeleteKeyValue(ctx, name); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return err
	}
	s.log.Info("table deleted", "app", app, "table", table)
	if err := catalog.Delete(ctx, key, jetstream.LastRevision(entry.Revision())); err != nil {
		return err
	}
	return s.forgetAccessPolicies(ctx, app, table)
}

// catalogName returns the table's name as created, or TableNotFound.
func (s *Service) catalogName(ctx context.Context, app, table string) (string, error) {
	catalog, err := s.sysBucket(ctx, catalogKind)
	if err != nil {
		return "", err
	}
	entry, err := catalog.Get(ctx, catalogKey(app, table))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", errTableNotFound(table)
	}
	if err != nil {
		return "", fmt.Errorf("table catalog: %w", err)
	}
	var ce catalogEntry
	if err := json.Unmarshal(entry.Value(), &ce); err != nil {
		return "", fmt.Errorf("table catalog %s: %w", entry.Key(), err)
	}
	return ce.Name, nil
}

// ListTables returns an app's table names, sorted case-insensitively.
func (s *Service) ListTables(ctx context.Context, app string) ([]string, error) {
	if err := validApp(app); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	catalog, err := s.sysBucket(ctx, catalogKind)
	if err != nil {
		return nil, fmt.Errorf("list tables %s: %w", app, err)
	}
	var names []string
	err = catalog.scan(ctx, app+".*", func(e jetstream.KeyValueEntry) error {
		var ce catalogEntry
		if err := json.Unmarshal(e.Value(), &ce); err != nil {
			return fmt.Errorf("table catalog %s: %w", e.Key(), err)
		}
		names = append(names, ce.Name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tables %s: %w", app, err)
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return names, nil
}

// scanKV calls fn for the latest value of every live key matching filter.
func scanKV(ctx context.Context, kv jetstream.KeyValue, filter string, fn func(jetstream.KeyValueEntry) error) error {
	w, err := kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return err
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watch closed before the initial values were read")
			}
			if e == nil {
				return nil
			}
			if err := fn(e); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
