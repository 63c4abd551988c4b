package table

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Shared Key authorization for the Table service, as Azure defines it and
// the aztables SDK signs (shared_policy_shared_key_credential.go):
//
//	SharedKeyLite: x-ms-date "\n" CanonicalizedResource
//	SharedKey:     VERB "\n" Content-MD5 "\n" Content-Type "\n" Date "\n" CanonicalizedResource
//
// where Date is x-ms-date (or Date when x-ms-date is absent) and
// CanonicalizedResource is "/" + account + the request path exactly as
// sent (still percent-encoded) + "?comp=<v>" when the query has comp.
// The signature is base64(HMAC-SHA256(base64-decoded account key, string)).

// maxClockSkew is how far a request's date may be from now, as in Azure.
const maxClockSkew = 15 * time.Minute

func (s *Service) authenticate(ctx context.Context, r *http.Request, account string) error {
	scheme, name, sig, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	if name != account {
		return errAuth("Authorization is for account %q but the request is for account %q", name, account)
	}
	date, err := s.requestDate(r)
	if err != nil {
		return err
	}
	key, err := s.accountKey(ctx, account)
	if err != nil {
		return err
	}
	toSign := stringToSign(scheme, r, date, account)
	if !hmac.Equal([]byte(sign(key, toSign)), []byte(sig)) {
		return errAuth("the %s signature is not the one computed for this request; the server signed %q", scheme, toSign)
	}
	return nil
}

// parseAuthorization splits "SharedKey account:signature".
func parseAuthorization(h string) (scheme, account, sig string, err error) {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || (scheme != "SharedKey" && scheme != "SharedKeyLite") {
		return "", "", "", errAuth("Authorization header must be \"SharedKey <account>:<signature>\" or \"SharedKeyLite <account>:<signature>\"")
	}
	account, sig, ok = strings.Cut(strings.TrimSpace(cred), ":")
	if !ok || account == "" || sig == "" {
		return "", "", "", errAuth("Authorization header must be \"%s <account>:<signature>\"", scheme)
	}
	return scheme, account, sig, nil
}

// requestDate returns the raw date the client signed, after checking that
// it is within maxClockSkew of now.
func (s *Service) requestDate(r *http.Request) (string, error) {
	raw := r.Header.Get("x-ms-date")
	if raw == "" {
		raw = r.Header.Get("Date")
	}
	if raw == "" {
		return "", errAuth("the request has neither an x-ms-date nor a Date header")
	}
	t, err := http.ParseTime(raw)
	if err != nil {
		return "", errAuth("request date %q is not an HTTP date", raw)
	}
	if skew := s.clock.Now().Sub(t).Abs(); skew > maxClockSkew {
		return "", errAuth("request date %q is %s from the server's time; at most %s is allowed", raw, skew.Round(time.Second), maxClockSkew)
	}
	return raw, nil
}

func stringToSign(scheme string, r *http.Request, date, account string) string {
	resource := canonicalizedResource(r, account)
	if scheme == "SharedKeyLite" {
		return date + "\n" + resource
	}
	return strings.Join([]string{r.Method, r.Header.Get("Content-MD5"), r.Header.Get("Content-Type"), date, resource}, "\n")
}

func canonicalizedResource(r *http.Request, account string) string {
	res := "/" + account + rawPath(r)
	if comp, ok := r.URL.Query()["comp"]; ok && len(comp) > 0 {
		res += "?comp=" + comp[0]
	}
	return res
}

// rawPath is the request path as the client sent it, before any decoding
// or prefix stripping.
func rawPath(r *http.Request) string {
	uri := r.RequestURI
	if uri == "" {
		return r.URL.EscapedPath()
	}
	if !strings.HasPrefix(uri, "/") {
		if u, err := url.ParseRequestURI(uri); err == nil {
			return u.EscapedPath()
		}
	}
	path, _, _ := strings.Cut(uri, "?")
	return path
}

func sign(key []byte, s string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
