package drill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// record is one client request.
type record struct {
	method string // GET, POST, PUT, or BLOB (a POST that writes a blob)
	sent   time.Time
	at     time.Time
	ok     bool
	region string // for GETs, the region that answered
	id     string // for POST/PUT, the work or entity id
	// lost: the first address took the request and never answered (a hung
	// or killed traffic manager); a failure then is that address's.
	lost bool
	why  string // for a failure: the status and body, or the error
}

// loader drives client load: GET /api/ping, POST /api/work/{id} (queued
// work), PUT /api/entity/{id} (table writes) and POST /api/blob/{id} (a
// blob the drill app's blob trigger counts), each at its own rate.
// It is given every public address (every traffic manager) and behaves
// like a client resolving a name with several A records: it sticks to the
// address that answered last; a connection refused or reset, or an answer
// that does not come, sends an idempotent request (GET, PUT) to the next
// address, and any request that was never sent.
type loader struct {
	bases  []string
	pref   atomic.Int32 // index of the address that answered last
	runID  string       // the run id every work and entity id starts with
	client *http.Client
	seq    atomic.Int64

	mu      sync.Mutex
	records []record
	wg      sync.WaitGroup
}

// attemptTimeout bounds one attempt at one address: above the proxy's own
// response timeout (3 s), so a slow region is the proxy's to retry, and a
// hung traffic manager is left for the next address.
const attemptTimeout = 4 * time.Second

func newLoader(bases []string, run string) *loader {
	l := &loader{runID: run, client: &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, Proxy: nil},
	}}
	for _, b := range bases {
		l.bases = append(l.bases, strings.TrimRight(b, "/"))
	}
	return l
}

// run sends requests until ctx ends; rates are per second.
func (l *loader) run(ctx context.Context, gets, posts, puts, blobs int) {
	for _, s := range []struct {
		rate int
		f    func(context.Context)
	}{{gets, l.get}, {posts, l.post}, {puts, l.put}, {blobs, l.blob}} {
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
	res := l.do(ctx, http.MethodGet, "/api/ping", http.StatusOK)
	l.add(record{method: http.MethodGet, sent: sent, at: time.Now(), ok: res.ok, region: strings.TrimSpace(res.body), lost: res.lost, why: res.why})
}

func (l *loader) post(ctx context.Context) {
	id := fmt.Sprintf("%s-w%06d", l.runID, l.seq.Add(1))
	sent := time.Now()
	res := l.do(ctx, http.MethodPost, "/api/work/"+id, http.StatusAccepted)
	l.add(record{method: http.MethodPost, sent: sent, at: time.Now(), ok: res.ok, id: id, lost: res.lost, why: res.why})
}

func (l *loader) put(ctx context.Context) {
	id := fmt.Sprintf("%s-e%06d", l.runID, l.seq.Add(1))
	sent := time.Now()
	res := l.do(ctx, http.MethodPut, "/api/entity/"+id, http.StatusCreated)
	l.add(record{method: http.MethodPut, sent: sent, at: time.Now(), ok: res.ok, id: id, lost: res.lost, why: res.why})
}

// blob writes drill-in/<id> through the drill app (a blob output); a 201
// acknowledges the blob, which the blob trigger must then run once.
func (l *loader) blob(ctx context.Context) {
	id := fmt.Sprintf("%s-b%06d", l.runID, l.seq.Add(1))
	sent := time.Now()
	res := l.do(ctx, http.MethodPost, "/api/blob/"+id, http.StatusCreated)
	l.add(record{method: methodBlob, sent: sent, at: time.Now(), ok: res.ok, id: id, lost: res.lost, why: res.why})
}

// methodBlob labels the blob writes (POSTs) in records and reports.
const methodBlob = "BLOB"

// result is one request's outcome: lost says the first address took it
// and never answered; why says what a failure was.
type result struct {
	body     string
	ok, lost bool
	why      string
}

// do sends the request to the preferred address, then the next ones.
func (l *loader) do(ctx context.Context, method, path string, want int) result {
	var res result
	first := int(l.pref.Load())
	for i := range l.bases {
		at := (first + i) % len(l.bases)
		body, code, err := l.attempt(ctx, l.bases[at]+path, method)
		if err == nil {
			l.pref.Store(int32(at))
			res.body, res.ok = body, code == want
			if !res.ok {
				res.why = fmt.Sprintf("%d %.400s", code, strings.TrimSpace(body))
			}
			return res
		}
		res.why = err.Error()
		if i == 0 && !neverSent(err) {
			res.lost = true
		}
		if !neverSent(err) && method == http.MethodPost {
			return res // it may have been processed: not retried
		}
	}
	return res
}

func (l *loader) attempt(ctx context.Context, u, method string) (string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return "", 0, err
	}
	req.Host = App + ".localhost" // regions pick the app by the Host's first label
	resp, err := l.client.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return string(b), resp.StatusCode, err
}

// neverSent reports a connection that could not be made (refused): the
// request never left, so any method may go to the next address.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
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
