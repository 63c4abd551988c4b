package blob

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tandemhq/tandem/internal/storage"
)

// copyBlob answers Copy Blob and Copy Blob From URL (Put Blob with
// x-ms-copy-source; the Node SDK's beginCopyFromURL and syncCopyFromURL,
// azblob's StartCopyFromURL and CopyFromURL) for a source in the same
// account: the copy is done before the answer (202, x-ms-copy-status:
// success, which every SDK's poller takes as done). The destination gets
// the source's content, properties and, unless the request names
// metadata, its metadata. A source elsewhere (another account, another
// service) is 501 NotImplemented. A request signed with the account key
// may read any source of the account; one with a SAS must give the source
// a SAS of its own with read permission, as Azure requires.
func (s *Service) copyBlob(q *request) {
	src, err := s.copySource(q.r, q.t.account)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	meta, err := parseMetadata(q.r.Header)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	cond, err := parseConditions(q.r.Header)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	srcCond, err := parseConditions(sourceConditionHeaders(q.r.Header))
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	ctx := q.r.Context()
	st, b, err := s.GetBlob(ctx, src.account, src.container, src.blob, srcCond)
	if errors.Is(err, ErrNotModified) || errors.Is(err, ErrPrecondition) {
		err = newError(ErrPrecondition, http.StatusPreconditionFailed, "SourceConditionNotMet", "the source blob does not meet the x-ms-source-if-* conditions")
	}
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	if len(meta) == 0 {
		meta = b.Metadata
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(s.ReadBlob(ctx, st, b, 0, b.Size, pw)) }()
	nb, _, err := s.PutBlob(ctx, q.t.account, q.t.container, q.t.blob, pr, PutRequest{Props: b.Props, Metadata: meta, Cond: cond})
	_ = pr.CloseWithError(io.ErrClosedPipe) // stops the reader if the put failed early
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	h := q.w.Header()
	setVersionHeaders(h, nb.ETag, nb.Modified)
	h.Set("x-ms-copy-id", copyID())
	h.Set("x-ms-copy-status", "success")
	ok(q.w, http.StatusAccepted)
}

// copySource parses and authorizes x-ms-copy-source.
func (s *Service) copySource(r *http.Request, account string) (target, error) {
	raw := r.Header.Get("x-ms-copy-source")
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return target{}, invalid("InvalidHeaderValue", "header x-ms-copy-source %q is not an absolute URL", raw)
	}
	rest, ok := strings.CutPrefix(u.Path, s.prefix)
	if s.prefix == "/" {
		rest, ok = u.Path, true
	}
	var src target
	if ok {
		src, err = parsePath(rest)
	}
	if !ok || err != nil || src.account != account || src.blob == "" {
		return target{}, newError(ErrInvalid, http.StatusNotImplemented, "NotImplemented",
			"x-ms-copy-source %q: only a blob of this account (%s/%s/<container>/<blob>) can be copied here", raw, s.prefix, account)
	}
	if s.auth == nil {
		return src, nil
	}
	if storage.HasSAS(u.Query()) {
		fake := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}, RemoteAddr: r.RemoteAddr, TLS: r.TLS}
		if err := s.authenticate(fake.WithContext(r.Context()), src); err != nil {
			return target{}, newError(storage.ErrAuth, http.StatusForbidden, "CannotVerifyCopySource", "the SAS of x-ms-copy-source does not allow reading it: %v", err)
		}
		return src, nil
	}
	if storage.HasSAS(r.URL.Query()) {
		return target{}, newError(storage.ErrAuth, http.StatusForbidden, "CannotVerifyCopySource",
			"a copy authorized with a SAS needs a SAS with read permission on its x-ms-copy-source")
	}
	return src, nil // Shared Key of the account
}

// sourceConditionHeaders maps x-ms-source-if-* to the If-* headers
// parseConditions reads.
func sourceConditionHeaders(h http.Header) http.Header {
	out := http.Header{}
	for from, to := range map[string]string{
		"x-ms-source-if-match": "If-Match", "x-ms-source-if-none-match": "If-None-Match",
		"x-ms-source-if-modified-since": "If-Modified-Since", "x-ms-source-if-unmodified-since": "If-Unmodified-Since",
	} {
		if v := h.Get(from); v != "" {
			out.Set(to, v)
		}
	}
	return out
}

func copyID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
