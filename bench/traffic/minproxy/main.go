// Command minproxy is the bench's reference for what net/http can do as a
// proxy: a minimal httputil.ReverseProxy to one upstream, tuned as the
// traffic manager is (keep-alive pool of 256, pooled copy buffers, GOGC
// 400, HTTP/1.1 only), with none of the traffic manager's rules (no
// retries, no metrics, no routing). The gap between it and `tandem
// traffic` is what Tandem's own code costs; the gap between it and
// HAProxy is net/http's.
package main

import (
	"flag"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"runtime/debug"
	"sync"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:17095", "address to serve")
	upstream := flag.String("upstream", "http://127.0.0.1:17101", "the one upstream")
	flag.Parse()
	debug.SetGCPercent(400)
	u, err := url.Parse(*upstream)
	if err != nil {
		log.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
		},
		Transport:  &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second, DisableCompression: true},
		BufferPool: pool{},
		ErrorLog:   log.New(io.Discard, "", 0), // wrk's cut connections at the end of a run
	}
	srv := &http.Server{Addr: *listen, Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

type pool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (pool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (pool) Put(b []byte) { buffers.Put(&b) }
