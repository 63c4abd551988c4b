package drill

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// record is one client request.
type record struct {
	method string
	sent   time.Time
	at     time.Time
	ok     bool
	region string // for GETs, the region that answered
	id     string // for POST/PUT, the work or entity id
}

// loader drives client load: GET /api/ping, POST /api/work/{id} (queued
// work) and PUT /api/entity/{id} (table writes), each at its own rate.
type loader struct {
	base   string
	runID  string // the run id every work and entity id starts with
	client *http.Client
	seq    atomic.Int64

	mu      sync.Mutex
	records []record
	wg      sync.WaitGroup
}

func newLoader(base, run string) *loader {
	return &loader{base: strings.TrimRight(base, "/"), runID: run, client: &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, Proxy: nil},
	}}
}

// run sends requests until ctx ends; rates are per second.
func (l *loader) run(ctx context.Context, gets, posts, puts int) {
	for _, s := range []struct {
		rate int
		f    func(context.Context)
	}{{gets, l.get}, {posts, l.post}, {puts, l.put}} {
		if s.rate <= 0 {
			continue
		}
		l.wg.Add(1)
		go l.every(ctx, time.Second/time.Duration(s.rate), s.f)
	}
}

func (l *loader) every(ctx context.Context, d time.Duration, f func(context.Context)) {
	defer l.wg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				f(context.WithoutCancel(ctx))
			}()
		}
	}
}

func (l *loader) wait() { l.wg.Wait() }

func (l *loader) get(ctx context.Context) {
	sent := time.Now()
	body, ok := l.do(ctx, http.MethodGet, "/api/ping", http.StatusOK)
	l.add(record{method: http.MethodGet, sent: sent, at: time.Now(), ok: ok, region: strings.TrimSpace(body)})
}

func (l *loader) post(ctx context.Context) {
	id := fmt.Sprintf("%s-w%06d", l.runID, l.seq.Add(1))
	sent := time.Now()
	_, ok := l.do(ctx, http.MethodPost, "/api/work/"+id, http.StatusAccepted)
	l.add(record{method: http.MethodPost, sent: sent, at: time.Now(), ok: ok, id: id})
}

func (l *loader) put(ctx context.Context) {
	id := fmt.Sprintf("%s-e%06d", l.runID, l.seq.Add(1))
	sent := time.Now()
	_, ok := l.do(ctx, http.MethodPut, "/api/entity/"+id, http.StatusCreated)
	l.add(record{method: http.MethodPut, sent: sent, at: time.Now(), ok: ok, id: id})
}

func (l *loader) do(ctx context.Context, method, path string, want int) (string, bool) {
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, nil)
	if err != nil {
		return "", false
	}
	req.Host = App + ".localhost" // regions pick the app by the Host's first label
	resp, err := l.client.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return string(b), resp.StatusCode == want
}

func (l *loader) add(r record) {
	l.mu.Lock()
	l.records = append(l.records, r)
	l.mu.Unlock()
}

func (l *loader) snapshot() []record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]record(nil), l.records...)
}
