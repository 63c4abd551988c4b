package control

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// keyDrill prefixes the drill reports kept for the status page.
const keyDrill = "drills."

// DrillsKept is how many drill reports the bucket keeps.
const DrillsKept = 10

// PutDrill stores a drill report (JSON) under id (sortable: the newest
// last) and drops the oldest beyond DrillsKept.
func (s *Store) PutDrill(ctx context.Context, id string, report []byte) error {
	if !idRE.MatchString(id) {
		return fmt.Errorf("control drill report: id %q: use letters, digits, '-' or '_'", id)
	}
	cctx, cancel := s.call(ctx)
	_, err := s.kv.Put(cctx, keyDrill+id, report)
	cancel()
	if err != nil {
		return fmt.Errorf("control drill report %s: %w", id, err)
	}
	keys, err := s.drillKeys(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys[:max(len(keys)-DrillsKept, 0)] {
		cctx, cancel := s.call(ctx)
		_ = s.kv.Purge(cctx, k)
		cancel()
	}
	return nil
}

// Drills returns the kept drill reports, newest first.
func (s *Store) Drills(ctx context.Context) ([][]byte, error) {
	keys, err := s.drillKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for i := len(keys) - 1; i >= 0; i-- {
		cctx, cancel := s.call(ctx)
		e, err := s.kv.Get(cctx, keys[i])
		cancel()
		if err == nil {
			out = append(out, e.Value())
		}
	}
	return out, nil
}

func (s *Store) drillKeys(ctx context.Context) ([]string, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	l, err := s.kv.ListKeysFiltered(ctx, keyDrill+"*")
	if err != nil {
		return nil, fmt.Errorf("control drill reports: %w", err)
	}
	var keys []string
	for k := range l.Keys() {
		if strings.HasPrefix(k, keyDrill) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}
