package blob

import (
	"strings"
	"testing"
)

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=5-", "bytes=-1", "bytes=9-0", "bytes=0-1,2-3", ""} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, v string, size int64) {
		r, ok, err := parseRange("Range", v)
		if err != nil || !ok || size < 0 {
			return
		}
		off, n, err := r.resolve(size)
		if err != nil {
			return
		}
		if off < 0 || n <= 0 || off+n > size {
			t.Fatalf("%q on %d bytes: offset %d length %d", v, size, off, n)
		}
	})
}

func FuzzParseBlockList(f *testing.F) {
	f.Add(`<BlockList><Latest>YWJj</Latest><Committed>YWJj</Committed></BlockList>`)
	f.Add(`<BlockList><Uncommitted>YWJj</Uncommitted>`)
	f.Add(`<?xml version="1.0"?><BlockList/>`)
	f.Fuzz(func(t *testing.T, body string) {
		refs, err := parseBlockList(strings.NewReader(body), 10)
		if err != nil {
			if asError(err).Status != 400 {
				t.Fatalf("%q: %v is not a 400", body, err)
			}
			return
		}
		if len(refs) > 10 {
			t.Fatalf("%d refs past the limit", len(refs))
		}
		for _, r := range refs {
			if validBlockID(r.ID) != nil {
				t.Fatalf("invalid id %q accepted", r.ID)
			}
		}
	})
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/shop/docs/a/b", "/shop", "/shop/do", "//x", "/a/b/c\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		tg, err := parsePath(p)
		if err != nil {
			if asError(err).Status != 400 {
				t.Fatalf("%q: %v is not a 400", p, err)
			}
			return
		}
		if tg.account == "" || tg.blob != "" && tg.container == "" || strings.ContainsRune(tg.blob, 0) {
			t.Fatalf("%q parsed as %+v", p, tg)
		}
		if tg.container != "" && validContainer(tg.container) != nil {
			t.Fatalf("%q: invalid container %q accepted", p, tg.container)
		}
	})
}

func FuzzPaginate(f *testing.F) {
	f.Add("a/1\na/2\nb\nc/d/e", "a", "/", "", 2)
	f.Fuzz(func(t *testing.T, list, prefix, delim, marker string, limit int) {
		if limit <= 0 || limit > 100 {
			return
		}
		names := strings.Split(list, "\n")
		sortUnique(&names)
		p := paginate(names, prefix, delim, marker, limit)
		if len(p.items)+len(p.prefixes) > limit {
			t.Fatalf("page of %d past limit %d", len(p.items)+len(p.prefixes), limit)
		}
		for _, i := range p.items {
			if !strings.HasPrefix(names[i], prefix) || names[i] < marker {
				t.Fatalf("item %q outside prefix %q / before marker %q", names[i], prefix, marker)
			}
		}
		if p.next != "" && p.next < marker {
			t.Fatalf("next marker %q goes back before %q", p.next, marker)
		}
	})
}
