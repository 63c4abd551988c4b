package storage

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Shared Key authorization, as Azure defines it and the SDKs sign
// (azblob/azqueue internal/exported/shared_key_credential.go, aztables
// shared_policy_shared_key_credential.go). The signature is
// base64(HMAC-SHA256(base64-decoded account key, string-to-sign)).
//
// Blob and Queue, SharedKey:
//
//	VERB \n Content-Encoding \n Content-Language \n Content-Length (empty for 0) \n
//	Content-MD5 \n Content-Type \n Date (empty with x-ms-date) \n If-Modified-Since \n
//	If-Match \n If-None-Match \n If-Unmodified-Since \n Range \n
//	CanonicalizedHeaders \n CanonicalizedResource
//
// with CanonicalizedHeaders the x-ms-* headers, lower-cased, in Azure's
// collation order, "name:value" one per line, and CanonicalizedResource
// "/" account path, then "\n" name ":" values (sorted, comma-joined) for
// every query parameter, names sorted and lower-cased.
//
// Blob and Queue, SharedKeyLite:
//
//	VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedHeaders CanonicalizedResource
//
// Table, SharedKey:
//
//	VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedResource
//
// Table, SharedKeyLite:
//
//	Date \n CanonicalizedResource
//
// where for Table (and for the Lite schemes) Date is x-ms-date or else
// Date, and CanonicalizedResource is "/" account path plus "?comp=<v>"
// when the query has comp. The path is the request's as sent, still
// percent-encoded.

// Service is one of the three Storage services.
type Service int

// The services; each signs requests its own way.
const (
	Blob Service = iota + 1
	Queue
	Table
)

func (s Service) String() string {
	switch s {
	case Blob:
		return "blob"
	case Queue:
		return "queue"
	case Table:
		return "table"
	}
	return "unknown"
}

// letter is the service's letter in an account SAS's ss field.
func (s Service) letter() byte { return s.String()[0] }

// Authorization schemes.
const (
	SchemeSharedKey     = "SharedKey"
	SchemeSharedKeyLite = "SharedKeyLite"
)

// ParseAuthorization splits "SharedKey account:signature" (or
// SharedKeyLite).
func ParseAuthorization(h string) (scheme, account, sig string, err error) {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || (scheme != SchemeSharedKey && scheme != SchemeSharedKeyLite) {
		return "", "", "", AuthFailed("Authorization header must be \"SharedKey <account>:<signature>\" or \"SharedKeyLite <account>:<signature>\"")
	}
	account, sig, ok = strings.Cut(strings.TrimSpace(cred), ":")
	if !ok || account == "" || sig == "" {
		return "", "", "", AuthFailed("Authorization header must be \"%s <account>:<signature>\"", scheme)
	}
	return scheme, account, sig, nil
}

// StringToSign is what a client signs for request r of the given service
// and scheme on account.
func StringToSign(svc Service, scheme string, r *http.Request, account string) string {
	if svc == Table {
		return tableStringToSign(scheme, r, account)
	}
	if scheme == SchemeSharedKeyLite {
		return strings.Join([]string{r.Method, r.Header.Get("Content-MD5"), r.Header.Get("Content-Type"),
			fullDate(r), liteHeaders(r.Header) + compResource(r, account)}, "\n")
	}
	return strings.Join([]string{
		r.Method,
		r.Header.Get("Content-Encoding"),
		r.Header.Get("Content-Language"),
		contentLength(r),
		r.Header.Get("Content-MD5"),
		r.Header.Get("Content-Type"),
		fullDate(r),
		r.Header.Get("If-Modified-Since"),
		r.Header.Get("If-Match"),
		r.Header.Get("If-None-Match"),
		r.Header.Get("If-Unmodified-Since"),
		r.Header.Get("Range"),
		canonicalHeaders(r.Header),
		fullResource(r, account),
	}, "\n")
}

func tableStringToSign(scheme string, r *http.Request, account string) string {
	resource := compResource(r, account)
	if scheme == SchemeSharedKeyLite {
		return liteDate(r) + "\n" + resource
	}
	return strings.Join([]string{r.Method, r.Header.Get("Content-MD5"), r.Header.Get("Content-Type"), liteDate(r), resource}, "\n")
}

// liteDate is x-ms-date, or Date without it.
func liteDate(r *http.Request) string {
	if d := r.Header.Get("x-ms-date"); d != "" {
		return d
	}
	return r.Header.Get("Date")
}

// fullDate is the Date field of the Blob and Queue SharedKey string:
// empty when x-ms-date is sent (it is then a canonicalized header).
func fullDate(r *http.Request) string {
	if r.Header.Get("x-ms-date") != "" {
		return ""
	}
	return r.Header.Get("Date")
}

func contentLength(r *http.Request) string {
	v := r.Header.Get("Content-Length")
	if v == "" && r.ContentLength > 0 {
		return itoa(r.ContentLength)
	}
	if v == "0" {
		return ""
	}
	return v
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

// canonicalHeaders is the x-ms-* headers, lower-cased and ordered as
// Azure orders them, "name:v1,v2" one per line (no trailing newline for
// the full scheme; the Lite scheme appends the resource directly after a
// newline, see StringToSign).
func canonicalHeaders(h http.Header) string {
	values := map[string][]string{}
	for k, v := range h {
		name := strings.ToLower(strings.TrimSpace(k))
		if strings.HasPrefix(name, "x-ms-") {
			values[name] = append(values[name], v...)
		}
	}
	if len(values) == 0 {
		return ""
	}
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	slices.SortFunc(names, collate)
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(n + ":" + strings.Join(values[n], ","))
	}
	return b.String()
}

// liteHeaders is canonicalHeaders with every line, the last included,
// ended by a newline, as the Lite scheme has them.
func liteHeaders(h http.Header) string {
	if c := canonicalHeaders(h); c != "" {
		return c + "\n"
	}
	return ""
}

// compResource is "/" account path, plus "?comp=<v>" when comp is given.
func compResource(r *http.Request, account string) string {
	res := "/" + account + RawPath(r)
	if comp, ok := r.URL.Query()["comp"]; ok && len(comp) > 0 {
		res += "?comp=" + comp[0]
	}
	return res
}

// fullResource is "/" account path, then every query parameter.
func fullResource(r *http.Request, account string) string {
	var b strings.Builder
	b.WriteString("/" + account + RawPath(r))
	params, _ := url.ParseQuery(r.URL.RawQuery)
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		vals := slices.Clone(params[n])
		slices.Sort(vals)
		b.WriteString("\n" + strings.ToLower(n) + ":" + strings.Join(vals, ","))
	}
	return b.String()
}

// RawPath is the request path as the client sent it, before any decoding
// or prefix stripping ("/" when empty).
func RawPath(r *http.Request) string {
	uri := r.RequestURI
	if uri == "" {
		return orSlash(r.URL.EscapedPath())
	}
	if !strings.HasPrefix(uri, "/") {
		if u, err := url.ParseRequestURI(uri); err == nil {
			return orSlash(u.EscapedPath())
		}
	}
	path, _, _ := strings.Cut(uri, "?")
	return orSlash(path)
}

func orSlash(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// Sign is base64(HMAC-SHA256(key, s)): a request or SAS signature.
func Sign(key []byte, s string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// signatureMatches compares a presented signature with the expected one
// in constant time.
func signatureMatches(key []byte, toSign, presented string) bool {
	return hmac.Equal([]byte(Sign(key, toSign)), []byte(presented))
}
