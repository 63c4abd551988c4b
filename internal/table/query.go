package table

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// MaxPageSize is the most entities one query page returns, as in Azure.
const MaxPageSize = 1000

// QueryOptions are the parameters of one Query Entities request.
type QueryOptions struct {
	Filter string   // OData $filter; empty matches all
	Top    int      // page size, 1..1000; 0 means 1000
	Select []string // $select: only these properties; nil returns all
	// NextPartitionKey and NextRowKey continue a previous page.
	NextPartitionKey, NextRowKey string
}

// Page is one page of results, sorted by PartitionKey then RowKey. When
// more results exist, NextPartitionKey and NextRowKey are the opaque
// continuation tokens to pass back (Azure's x-ms-continuation headers).
type Page struct {
	Entities                     []Entity
	NextPartitionKey, NextRowKey string
}

// rawEntry is a stored entity not yet decoded: scans sort raw entries by
// key and decode only as many as the page needs.
type rawEntry struct {
	pk, rk string
	rev    uint64
	value  []byte
}

// QueryPage returns one page of the entities matching q.Filter. A scan
// reads every live key of the table (or of one partition when the filter
// pins PartitionKey, or one key when it pins both keys).
func (s *Service) QueryPage(ctx context.Context, app, table string, q QueryOptions) (Page, error) {
	p, err := s.queryPage(ctx, app, table, q)
	if err != nil {
		return Page{}, fmt.Errorf("query %s/%s: %w", app, table, err)
	}
	return p, nil
}

func (s *Service) queryPage(ctx context.Context, app, table string, q QueryOptions) (Page, error) {
	f, err := ParseFilter(q.Filter)
	if err != nil {
		return Page{}, err
	}
	sel, err := newSelection(q.Select)
	if err != nil {
		return Page{}, err
	}
	top, err := pageSize(q.Top)
	if err != nil {
		return Page{}, err
	}
	start, err := continuation(q.NextPartitionKey, q.NextRowKey)
	if err != nil {
		return Page{}, err
	}
	kv, err := s.openTable(ctx, app, table)
	if err != nil {
		return Page{}, err
	}
	raws, err := s.candidates(ctx, kv, f, start)
	if err != nil {
		return Page{}, s.staleBucket(err, app, table)
	}
	page, err := selectPage(ctx, raws, f, top)
	if err != nil {
		return page, err
	}
	return page, project(ctx, page.Entities, sel)
}

// project keeps only the selected properties (the keys and Timestamp are
// always kept; encoders write selected-but-missing properties as null).
// It costs one lookup per selected name and entity, and stops when ctx
// ends (the client went away).
func project(ctx context.Context, es []Entity, sel *selection) error {
	if sel == nil {
		return nil
	}
	for i := range es {
		if err := checkEvery(ctx, i); err != nil {
			return err
		}
		kept := make(map[string]Value, min(len(sel.props), len(es[i].Properties)))
		for _, name := range sel.props {
			if v, ok := es[i].Properties[name]; ok {
				kept[name] = v
			}
		}
		es[i].Properties = kept
	}
	return nil
}

// checkEvery returns ctx's error every 64th step of a loop, so long loops
// stop soon after the client goes away without checking at every step.
func checkEvery(ctx context.Context, i int) error {
	if i%64 != 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("query stopped: %w", context.Cause(ctx))
	}
	return nil
}

func pageSize(top int) (int, error) {
	switch {
	case top == 0:
		return MaxPageSize, nil
	case top < 0:
		return 0, invalid("InvalidInput", "$top must be positive, got %d", top)
	}
	return min(top, MaxPageSize), nil
}

// continuation decodes the Next* tokens into the first key to return.
func continuation(npk, nrk string) (*rawEntry, error) {
	if npk == "" && nrk == "" {
		return nil, nil
	}
	pk, ok1 := parseKeyToken(npk)
	rk, ok2 := parseKeyToken(nrk)
	if !ok1 || (nrk != "" && !ok2) {
		return nil, invalid("InvalidInput", "NextPartitionKey/NextRowKey %q/%q are not continuation tokens from this service", npk, nrk)
	}
	return &rawEntry{pk: pk, rk: rk}, nil
}

func compareKeys(a, b *rawEntry) int {
	return cmp.Or(strings.Compare(a.pk, b.pk), strings.Compare(a.rk, b.rk))
}

// candidates reads the raw entries at or after start, narrowed by the keys
// the filter pins, sorted by key.
func (s *Service) candidates(ctx context.Context, kv bucket, f *Filter, start *rawEntry) ([]*rawEntry, error) {
	pk, hasPK := f.pinned("PartitionKey")
	rk, hasRK := f.pinned("RowKey")
	if hasPK && hasRK {
		return pointCandidate(ctx, kv, pk, rk, start)
	}
	pattern := ">"
	if hasPK {
		pattern = keyToken(pk) + ".*"
	}
	var raws []*rawEntry
	err := kv.scan(ctx, pattern, func(e jetstream.KeyValueEntry) error {
		r, ok := rawFromEntry(e)
		if ok && (start == nil || compareKeys(r, start) >= 0) {
			raws = append(raws, r)
		}
		return nil
	})
	slices.SortFunc(raws, compareKeys)
	return raws, err
}

func pointCandidate(ctx context.Context, kv bucket, pk, rk string, start *rawEntry) ([]*rawEntry, error) {
	e, err := kv.Get(ctx, entityKey(pk, rk))
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, nil
		}
		return nil, err
	}
	r := &rawEntry{pk: pk, rk: rk, rev: e.Revision(), value: e.Value()}
	if start != nil && compareKeys(r, start) < 0 {
		return nil, nil
	}
	return []*rawEntry{r}, nil
}

func rawFromEntry(e jetstream.KeyValueEntry) (*rawEntry, bool) {
	pt, rt, ok := strings.Cut(e.Key(), ".")
	if !ok {
		return nil, false
	}
	pk, ok1 := parseKeyToken(pt)
	rk, ok2 := parseKeyToken(rt)
	return &rawEntry{pk: pk, rk: rk, rev: e.Revision(), value: e.Value()}, ok1 && ok2
}

// selectPage decodes sorted candidates in order until the page is full and
// one more match shows that another page exists.
func selectPage(ctx context.Context, raws []*rawEntry, f *Filter, top int) (Page, error) {
	var p Page
	for i, r := range raws {
		if err := checkEvery(ctx, i); err != nil {
			return Page{}, err
		}
		e, err := decodeEntity(r.value, true)
		if err != nil {
			return Page{}, fmt.Errorf("stored entity %q/%q: %w", r.pk, r.rk, err)
		}
		e.ETag = FormatETag(r.rev)
		if !f.Match(e) {
			continue
		}
		if len(p.Entities) == top {
			p.NextPartitionKey, p.NextRowKey = keyToken(r.pk), keyToken(r.rk)
			break
		}
		p.Entities = append(p.Entities, e)
	}
	return p, nil
}

// Query returns up to take entities matching filter (all of them when take
// is 0 or less), following continuation tokens: what a table input binding
// with filter and take reads.
func (s *Service) Query(ctx context.Context, app, table, filter string, take int) ([]Entity, error) {
	var out []Entity
	q := QueryOptions{Filter: filter}
	for {
		if take > 0 {
			q.Top = min(take-len(out), MaxPageSize)
		}
		p, err := s.QueryPage(ctx, app, table, q)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Entities...)
		if p.NextPartitionKey == "" || (take > 0 && len(out) >= take) {
			return out, nil
		}
		q.NextPartitionKey, q.NextRowKey = p.NextPartitionKey, p.NextRowKey
	}
}

// BindingFilter combines a table input binding's partitionKey and filter
// as the classic Azure extension does (TableQuery.CombineFilters), with
// the binding's filter parenthesised: "PartitionKey eq '<pk>' and (<filter>)".
func BindingFilter(partitionKey, filter string) string {
	if partitionKey == "" {
		return filter
	}
	pkFilter := "PartitionKey eq " + QuoteString(partitionKey)
	if strings.TrimSpace(filter) == "" {
		return pkFilter
	}
	return pkFilter + " and (" + filter + ")"
}

// QuoteString writes s as an OData string literal, doubling each quote.
func QuoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
