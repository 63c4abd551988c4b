package table

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func mustSelection(t *testing.T, names ...string) *selection {
	t.Helper()
	s, err := newSelection(names)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// TestSelectIsCappedAndDeduped: $select lists are deduplicated and capped
// at 255 distinct names (Azure's properties per entity), over REST, the
// admin API and QueryPage. A list of 4,000 names used to be served (27 s
// and 1.5 GB over 1,000 entities).
func TestSelectIsCappedAndDeduped(t *testing.T) {
	env := newEnvClock(t, nil)
	base := startREST(t, env)
	acct, _ := env.svc.EnsureAccount(env.ctx, "shop")
	key, _ := base64.StdEncoding.DecodeString(acct.Key)
	env.mustCreate(t, "shop", "Grid")
	if _, err := env.svc.Insert(env.ctx, "shop", "Grid", entity("p", "r", map[string]Value{"A": Int32(1), "B": Int32(2)})); err != nil {
		t.Fatal(err)
	}
	repeated := strings.Repeat("A,B,", 2000) + strings.Join(names("X", 253), ",") // 255 distinct, 4,253 names
	cases := []struct {
		name, sel string
		code      int
		props     int
	}{
		{"4000 distinct names", strings.Join(names("P", 4000), ","), http.StatusBadRequest, 0},
		{"256 distinct names", strings.Join(names("P", 256), ","), http.StatusBadRequest, 0},
		{"255 distinct names repeated", repeated, http.StatusOK, 255},
		{"a name twice", "A,A,B", http.StatusOK, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range []string{"/tables/shop/Grid()", "/tables/shop/Grid(PartitionKey='p',RowKey='r')"} {
				r := signedRequest{method: "GET", path: path + "?$select=" + url.QueryEscape(c.sel), scheme: "SharedKeyLite", account: "shop", date: time.Now(), key: key}
				resp, body := r.doWith(t, base, map[string]string{"Accept": "application/json;odata=nometadata"})
				if resp.StatusCode != c.code {
					t.Fatalf("GET %s: %d %.200s, want %d", path, resp.StatusCode, body, c.code)
				}
				if c.code == http.StatusBadRequest {
					if !strings.Contains(body, "$select") {
						t.Fatalf("error does not name $select: %s", body)
					}
					continue
				}
				if got := len(entityIn(t, body)); got != c.props {
					t.Fatalf("GET %s: %d properties written, want %d: %.300s", path, got, c.props, body)
				}
			}
		})
	}
	_, err := env.svc.QueryPage(env.ctx, "shop", "Grid", QueryOptions{Select: names("P", 256)})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("QueryPage with 256 names: %v, want ErrInvalid", err)
	}
}

// TestQueryStopsWhenTheClientGoesAway: a query whose caller has gone away
// stops with the context's error instead of working on.
func TestQueryStopsWhenTheClientGoesAway(t *testing.T) {
	env := newEnv(t)
	seedGrid(t, env, "Grid")
	ctx, cancel := context.WithCancel(env.ctx)
	cancel()
	raws := []*rawEntry{{pk: "p", rk: "r", value: []byte(`{}`)}}
	if _, err := selectPage(ctx, raws, nil, 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("selectPage after the client left: %v", err)
	}
	es := []Entity{entity("p", "r", map[string]Value{"A": Int32(1)})}
	if err := project(ctx, es, mustSelection(t, "A")); !errors.Is(err, context.Canceled) {
		t.Fatalf("project after the client left: %v", err)
	}
}

// entityIn is the (first) entity of a nometadata response body.
func entityIn(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%v: %.200s", err, body)
	}
	if list, ok := m["value"].([]any); ok && len(list) == 1 {
		m, _ = list[0].(map[string]any)
	}
	return m
}

// FuzzSelectList: a parsed $select has no repeats and at most MaxSelect
// names, and is refused only when it lists more distinct names than that.
func FuzzSelectList(f *testing.F) {
	for _, s := range []string{"", "*", "A,B", "A, A ,B,", ",,,", strings.Join(names("P", 300), ",")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		list, err := selectList(raw)
		distinct := map[string]bool{}
		for _, n := range strings.Split(raw, ",") {
			if n = strings.TrimSpace(n); n != "" {
				distinct[n] = true
			}
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) || len(distinct) <= MaxSelect {
				t.Fatalf("%q refused: %v", raw, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, n := range list {
			if seen[n] || n == "" {
				t.Fatalf("%q: repeated or empty name %q in %v", raw, n, list)
			}
			seen[n] = true
		}
		if len(list) > MaxSelect {
			t.Fatalf("%q: %d names", raw, len(list))
		}
	})
}
