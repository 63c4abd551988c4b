package blob

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		in          string
		want        byteRange
		ok, bad     bool
		size        int64
		off, n      int64
		unsatisfied bool
	}{
		{in: "", ok: false},
		{in: "bytes=0-9", want: byteRange{0, 9}, ok: true, size: 100, off: 0, n: 10},
		{in: "bytes=90-", want: byteRange{90, -1}, ok: true, size: 100, off: 90, n: 10},
		{in: "bytes=95-200", want: byteRange{95, 200}, ok: true, size: 100, off: 95, n: 5},
		{in: "bytes=100-", want: byteRange{100, -1}, ok: true, size: 100, unsatisfied: true},
		{in: "bytes=0-0", want: byteRange{0, 0}, ok: true, size: 0, unsatisfied: true},
		{in: "bytes=-5", bad: true},
		{in: "bytes=5-4", bad: true},
		{in: "bytes=0-1,3-4", bad: true},
		{in: "items=0-1", bad: true},
		{in: "bytes=a-b", bad: true},
	} {
		got, ok, err := parseRange("x-ms-range", tc.in)
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), "x-ms-range") {
				t.Errorf("%q: err %v, want one naming x-ms-range", tc.in, err)
			}
			continue
		}
		if err != nil || ok != tc.ok || got != tc.want {
			t.Errorf("%q: %+v %v %v, want %+v %v", tc.in, got, ok, err, tc.want, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		off, n, err := got.resolve(tc.size)
		if tc.unsatisfied {
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusRequestedRangeNotSatisfiable {
				t.Errorf("%q on %d bytes: %v, want 416", tc.in, tc.size, err)
			}
			continue
		}
		if err != nil || off != tc.off || n != tc.n {
			t.Errorf("%q on %d bytes: %d+%d %v, want %d+%d", tc.in, tc.size, off, n, err, tc.off, tc.n)
		}
	}
}

func TestParseBlockList(t *testing.T) {
	id1, id2 := blockID(1), blockID(2)
	for _, tc := range []struct {
		body string
		want []blockRef
		code string
	}{
		{body: `<?xml version="1.0"?><BlockList><Latest>` + id1 + `</Latest><Committed>` + id2 + `</Committed><Uncommitted>` + id1 + `</Uncommitted></BlockList>`,
			want: []blockRef{{id1, fromLatest}, {id2, fromCommitted}, {id1, fromUncommitted}}},
		{body: `<BlockList></BlockList>`},
		{body: `<Blocks><Latest>` + id1 + `</Latest></Blocks>`, code: "InvalidXmlDocument"},
		{body: `<BlockList><Other>` + id1 + `</Other></BlockList>`, code: "InvalidXmlDocument"},
		{body: `<BlockList><Latest>!!</Latest></BlockList>`, code: "InvalidQueryParameterValue"},
		{body: `<BlockList><Latest>` + id1, code: "InvalidXmlDocument"},
		{body: `<BlockList><Latest>` + id1 + `</Latest><Latest>` + id1 + `</Latest><Latest>` + id1 + `</Latest><Latest>` + id1 + `</Latest></BlockList>`, code: "InvalidBlockList"},
	} {
		got, err := parseBlockList(strings.NewReader(tc.body), 3)
		if tc.code != "" {
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code {
				t.Errorf("%s: err %v, want %s", tc.body, err, tc.code)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.body, got, err, tc.want)
		}
	}
}

func TestPaginate(t *testing.T) {
	names := []string{"a/1", "a/2", "a/b/3", "b/1", "c", "d"}
	pick := func(p listPage) []string {
		var out []string
		for _, i := range p.items {
			out = append(out, names[i])
		}
		return out
	}
	for _, tc := range []struct {
		prefix, delim, marker string
		max                   int
		items, prefixes       []string
		next                  string
	}{
		{max: 10, items: names},
		{max: 2, items: []string{"a/1", "a/2"}, next: "a/b/3"},
		{marker: "a/b/3", max: 2, items: []string{"a/b/3", "b/1"}, next: "c"},
		{delim: "/", max: 10, items: []string{"c", "d"}, prefixes: []string{"a/", "b/"}},
		{delim: "/", max: 1, prefixes: []string{"a/"}, next: "b/1"},
		{delim: "/", marker: "b/1", max: 2, items: []string{"c"}, prefixes: []string{"b/"}, next: "d"},
		{prefix: "a/", delim: "/", max: 10, items: []string{"a/1", "a/2"}, prefixes: []string{"a/b/"}},
		{prefix: "zz", max: 10},
	} {
		p := paginate(names, tc.prefix, tc.delim, tc.marker, tc.max)
		if !slices.Equal(pick(p), tc.items) || !slices.Equal(p.prefixes, tc.prefixes) || p.next != tc.next {
			t.Errorf("%+v: items %v prefixes %v next %q", tc, pick(p), p.prefixes, p.next)
		}
	}
}

func TestConditions(t *testing.T) {
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cur := state{exists: true, etag: `"0x1"`, modified: mod}
	before, after := mod.Add(-time.Minute).Format(http.TimeFormat), mod.Add(time.Minute).Format(http.TimeFormat)
	for _, tc := range []struct {
		header, value string
		st            state
		read          bool
		status        int
	}{
		{"If-Match", `"0x1"`, cur, false, 0},
		{"If-Match", `"0x2"`, cur, false, 412},
		{"If-Match", "*", state{}, false, 412},
		{"If-None-Match", "*", cur, false, 409},
		{"If-None-Match", "*", state{}, false, 0},
		{"If-None-Match", `"0x1"`, cur, true, 304},
		{"If-None-Match", `"0x1"`, cur, false, 412},
		{"If-Modified-Since", after, cur, true, 304},
		{"If-Modified-Since", before, cur, true, 0},
		{"If-Modified-Since", mod.Format(http.TimeFormat), cur, true, 304},
		{"If-Unmodified-Since", before, cur, false, 412},
		{"If-Unmodified-Since", after, cur, false, 0},
	} {
		h := http.Header{}
		h.Set(tc.header, tc.value)
		c, err := parseConditions(h)
		if err != nil {
			t.Fatal(err)
		}
		err = c.check(tc.st, tc.read)
		status := 0
		if err != nil {
			status = asError(err).Status
		}
		if status != tc.status {
			t.Errorf("%s: %s on %+v read=%v: %v, want %d", tc.header, tc.value, tc.st, tc.read, err, tc.status)
		}
	}
	_, err := parseConditions(http.Header{"If-Modified-Since": {"yesterday"}})
	if err == nil || !strings.Contains(err.Error(), "If-Modified-Since") {
		t.Fatalf("bad date: %v", err)
	}
}

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want target
		bad  bool
	}{
		{in: "/shop", want: target{account: "shop"}},
		{in: "/shop/docs", want: target{account: "shop", container: "docs"}},
		{in: "/shop/docs/a/b c.txt", want: target{"shop", "docs", "a/b c.txt"}},
		{in: "/", bad: true},
		{in: "/shop/DOCS/x", bad: true},
		{in: "/shop/docs/" + strings.Repeat("x", 1025), bad: true},
		{in: "/shop/docs/a\x00b", bad: true},
	} {
		got, err := parsePath(tc.in)
		if (err != nil) != tc.bad || !tc.bad && got != tc.want {
			t.Errorf("%q: %+v %v", tc.in, got, err)
		}
	}
}

func TestMetadataHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("x-ms-meta-Owner", "me")
	h.Set("Content-Type", "x")
	m, err := parseMetadata(h)
	if err != nil || len(m) != 1 || m["owner"] != "me" {
		t.Fatalf("%v %v", m, err)
	}
	for _, bad := range []http.Header{{"X-Ms-Meta-1x": {"v"}}, {"X-Ms-Meta-A-B": {"v"}}, {"X-Ms-Meta-Big": {strings.Repeat("v", maxMetadataBytes)}}} {
		if _, err := parseMetadata(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
