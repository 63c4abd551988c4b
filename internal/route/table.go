package route

import (
	"sort"
	"sync"
)

// Table holds templates with a value each (a function, say) in match order.
// The zero value is ready; it is safe for concurrent use.
type Table[T any] struct {
	mu      sync.RWMutex
	entries []entry[T]
}

type entry[T any] struct {
	tpl *Template
	val T
}

// Match is one template that matched a path.
type Match[T any] struct {
	Template *Template
	Value    T
	Params   map[string]string
}

// Add adds a template. Templates are kept in Compare order; equal ones keep
// the order they were added in.
func (t *Table[T]) Add(tpl *Template, v T) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := entry[T]{tpl: tpl, val: v}
	i := sort.Search(len(t.entries), func(i int) bool { return Compare(tpl, t.entries[i].tpl) < 0 })
	t.entries = append(t.entries, entry[T]{})
	copy(t.entries[i+1:], t.entries[i:])
	t.entries[i] = e
}

// Len is the number of templates.
func (t *Table[T]) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.entries)
}

// Match returns every template matching the escaped path, best first, so a
// caller can skip candidates (by HTTP method, say) and take the first left.
func (t *Table[T]) Match(path string) []Match[T] {
	r := newRequest(path)
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []Match[T]
	for _, e := range t.entries {
		if values, ok := e.tpl.match(r); ok {
			out = append(out, Match[T]{Template: e.tpl, Value: e.val, Params: values})
		}
	}
	return out
}
