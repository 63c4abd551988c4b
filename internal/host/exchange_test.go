package host

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestCancelAsTheCallEnds: a call whose context ends while its body is
// being closed (a caller gone, a functionTimeout firing at the last
// moment) interrupts a connection the exchange may already have handed
// back to the client's pool. The interrupt must act on the exchange's own
// connection, never on the pooled record, which fasthttp clears (and
// reuses) once released: the region crashed on a nil connection in a
// drill, a hung region's calls being cancelled as it resumed.
func TestCancelAsTheCallEnds(t *testing.T) {
	p := newPool(t, nil)
	if _, err := get(t, p, "/warm"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				ctx, cancel := context.WithCancel(context.Background())
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				req.SetRequestURI("/race")
				body, err := p.Call(ctx, req, resp)
				if err == nil {
					_, _ = io.Copy(io.Discard, body)
					cancel() // the interrupt starts while Close releases the connection
					_ = body.Close()
				}
				cancel()
				fasthttp.ReleaseRequest(req)
				fasthttp.ReleaseResponse(resp)
			}
		}()
	}
	wg.Wait()
	if _, err := get(t, p, "/after"); err != nil {
		t.Fatalf("a call after the cancelled ones: %v", err)
	}
}
