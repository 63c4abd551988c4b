package proxy

import (
	"net"
	"net/http"
	"time"
)

// TransportOptions configures one endpoint's connection pool.
type TransportOptions struct {
	ConnectTimeout  time.Duration // dial timeout; a dial that fails is "not sent"
	ResponseTimeout time.Duration // from request written to response headers
	MaxIdlePerHost  int           // idle connections kept (default 256)
}

// NewTransport returns an HTTP/1.1 transport for one endpoint: its own pool
// of keep-alive connections, bounded connect and response-header waits, no
// transparent compression (the client's Accept-Encoding passes through).
func NewTransport(o TransportOptions) *http.Transport {
	if o.MaxIdlePerHost <= 0 {
		o.MaxIdlePerHost = 256
	}
	d := &net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   o.MaxIdlePerHost,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: o.ResponseTimeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
	}
}

// ServerTimeouts are the front end's HTTP server timeouts.
type ServerTimeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

// DefaultServerTimeouts match the regions' defaults (region.DefaultHTTPTimeouts):
// a slow or idle client cannot hold a connection of the front end for ever.
var DefaultServerTimeouts = ServerTimeouts{ReadHeader: 10 * time.Second, Read: 2 * time.Minute, Write: 4 * time.Minute, Idle: 2 * time.Minute}

// NewServerTimeouts returns an HTTP server for h that speaks HTTP/1.1 and
// prior-knowledge HTTP/2 over cleartext (h2c), with the given timeouts
// (zero: none).
func NewServerTimeouts(h http.Handler, t ServerTimeouts) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, WriteTimeout: t.Write, IdleTimeout: t.Idle}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	return srv
}
