package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// BenchmarkProxyGET measures a small GET through the proxy over loopback,
// against the same request sent straight to the backend (the baseline).
func BenchmarkProxyGET(b *testing.B) {
	body := []byte("hello from a\n")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", "a")
		_, _ = w.Write(body)
	}))
	defer backend.Close()
	u, _ := url.Parse(backend.URL)
	tr := NewTransport(TransportOptions{ConnectTimeout: time.Second, ResponseTimeout: 5 * time.Second})
	px := httptest.NewServer(New(Options{Picker: listPicker{{Name: "a", URL: u, Transport: tr}}, MaxBodyBytes: 1 << 20}))
	defer px.Close()
	for _, c := range []struct{ name, url string }{{"direct", backend.URL}, {"proxy", px.URL}} {
		b.Run(c.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Get(c.url + "/")
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
}
