package blob

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strings"

	"github.com/tandemhq/tandem/internal/storage"
)

// The REST endpoint: the Blob service protocol for block blobs as the
// official SDKs use it, path-style (as Azurite):
//
//	/<prefix>/<account>?comp=list                           list containers
//	/<prefix>/<account>/<container>?restype=container[&comp=metadata|list]
//	/<prefix>/<account>/<container>/<blob>[?comp=block|blocklist|metadata|properties]
//
// Mount it without stripping the prefix: mux.Handle("/blobs/", svc.Handler()).
// An app's blob endpoint is http://<host>/blobs/<app>, the BlobEndpoint of
// its connection string.

// apiVersion is the x-ms-version answered.
const apiVersion = "2025-11-05"

// Handler serves the Blob service REST API for every app's account.
func (s *Service) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// request is one parsed REST call.
type request struct {
	w             http.ResponseWriter
	r             *http.Request
	t             target
	comp, restype string
}

func (s *Service) serveHTTP(w http.ResponseWriter, r *http.Request) {
	storage.SetCommonHeaders(w, r, apiVersion, s.clock.Now())
	rest, ok := strings.CutPrefix(r.URL.Path, s.prefix)
	if !ok && s.prefix != "/" {
		s.fail(w, r, invalid("InvalidUri", "path %q is not under %s", r.URL.Path, s.prefix))
		return
	}
	if s.prefix == "/" {
		rest = r.URL.Path
	}
	t, err := parsePath(rest)
	if err == nil {
		err = s.authenticate(r, t)
	}
	if err == nil {
		err = s.gateWrite(r)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.opts.Stored != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
		ctx, wl := withWriteLog(r.Context())
		r = r.WithContext(ctx)
		w = &syncAnswer{w: w, r: r, s: s, app: t.account, wl: wl, staged: w.Header().Clone()}
	}
	q := r.URL.Query()
	s.route(&request{w: w, r: r, t: t, comp: q.Get("comp"), restype: q.Get("restype")})
}

// gateWrite asks Options.WriteGate whether a write may run here.
func (s *Service) gateWrite(r *http.Request) error {
	if s.opts.WriteGate == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	return s.opts.WriteGate(r.Context())
}

func (s *Service) route(q *request) {
	switch {
	case q.t.container == "":
		s.routeAccount(q)
	case q.t.blob == "":
		s.routeContainer(q)
	default:
		s.routeBlob(q)
	}
}

func (s *Service) routeAccount(q *request) {
	if q.r.Method == http.MethodGet && q.comp == "list" {
		s.listContainers(q)
		return
	}
	if !s.routeService(q) {
		s.unsupported(q)
	}
}

func (s *Service) routeContainer(q *request) {
	if q.restype != "container" {
		s.fail(q.w, q.r, invalid("InvalidQueryParameterValue", "a container request needs restype=container (query parameter restype is %q)", q.restype))
		return
	}
	switch key(q.r.Method, q.comp) {
	case "PUT ":
		s.restCreateContainer(q)
	case "DELETE ":
		s.restDeleteContainer(q)
	case "GET ", "HEAD ", "GET metadata", "HEAD metadata":
		s.containerProperties(q)
	case "PUT metadata":
		s.restSetContainerMetadata(q)
	case "GET list":
		s.listBlobs(q)
	default:
		s.unsupported(q)
	}
}

func (s *Service) routeBlob(q *request) {
	switch key(q.r.Method, q.comp) {
	case "PUT ":
		if q.r.Header.Get("x-ms-copy-source") != "" {
			s.copyBlob(q)
			return
		}
		s.putBlob(q)
	case "PUT block":
		s.putBlock(q)
	case "PUT blocklist":
		s.putBlockList(q)
	case "GET blocklist":
		s.getBlockList(q)
	case "PUT metadata":
		s.setBlobMetadata(q)
	case "PUT properties":
		s.setBlobProperties(q)
	case "GET ", "HEAD ":
		s.getBlob(q)
	case "GET metadata", "HEAD metadata":
		s.getBlobMetadata(q)
	case "DELETE ":
		s.deleteBlob(q)
	default:
		s.unsupported(q)
	}
}

func key(method, comp string) string { return method + " " + comp }

func (s *Service) unsupported(q *request) {
	s.fail(q.w, q.r, newError(ErrInvalid, http.StatusNotImplemented, "NotImplemented",
		"%s with comp=%q restype=%q is not supported by this Blob endpoint (block blobs only)", q.r.Method, q.comp, q.restype))
}

// fail writes err as an Azure XML error and logs server faults.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	if e.Status >= 500 && e.Status != http.StatusNotImplemented && !errors.Is(e, ErrReadOnly) {
		s.log.Error("blob request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.Status == http.StatusNotModified { // no body, as Azure
		w.Header().Set("x-ms-error-code", e.Code)
		w.WriteHeader(e.Status)
		return
	}
	storage.WriteXMLError(w, r, e, s.clock.Now())
}

func writeXML(w http.ResponseWriter, status int, v any) {
	data, err := storage.MarshalXML(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(data)
}

// ok writes an empty answer with status.
func ok(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}

func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
