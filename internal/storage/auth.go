package storage

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/tandemhq/tandem/internal/clock"
)

// MaxClockSkew is how far a Shared Key request's date may be from now,
// as in Azure.
const MaxClockSkew = 15 * time.Minute

// KeyFunc returns an account's decoded key. It returns an *Error (for
// example AuthFailed("no storage account ...")) for an unknown account:
// that error is what the client gets.
type KeyFunc func(ctx context.Context, account string) ([]byte, error)

// Authenticator checks Shared Key and SAS requests for one service.
type Authenticator struct {
	Service Service
	Keys    KeyFunc
	// Clock checks request dates and SAS times; clock.Real{} if nil.
	Clock clock.Clock
	// ClientIP returns the caller's address for a SAS's sip check; the
	// request's RemoteAddr if nil.
	ClientIP func(*http.Request) string
}

// Target names the resource a request addresses, as a service SAS signs
// it: the container, queue or table, and for Blob the blob and the
// snapshot or version requested.
type Target struct {
	Name     string
	Blob     string
	Snapshot string
}

// Verify authenticates r on account: by its Authorization header, or by
// the SAS in its query. The grant says what the caller may do: anything
// with the account key, what the SAS permits otherwise.
func (a *Authenticator) Verify(ctx context.Context, r *http.Request, account string, t Target) (*Grant, error) {
	if r.Header.Get("Authorization") == "" && HasSAS(r.URL.Query()) {
		return a.verifySAS(ctx, r, account, t)
	}
	return a.verifySharedKey(ctx, r, account)
}

func (a *Authenticator) now() time.Time {
	if a.Clock == nil {
		return time.Now()
	}
	return a.Clock.Now()
}

func (a *Authenticator) verifySharedKey(ctx context.Context, r *http.Request, account string) (*Grant, error) {
	scheme, name, sig, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return nil, err
	}
	if name != account {
		return nil, AuthFailed("Authorization is for account %q but the request is for account %q", name, account)
	}
	if err := CheckDate(r, a.now()); err != nil {
		return nil, err
	}
	key, err := a.Keys(ctx, account)
	if err != nil {
		return nil, err
	}
	toSign := StringToSign(a.Service, scheme, r, account)
	if !signatureMatches(key, toSign, sig) {
		return nil, AuthFailed("the %s signature is not the one computed for this request; the server signed %q", scheme, toSign)
	}
	return &Grant{service: a.Service}, nil
}

// CheckDate checks that r's x-ms-date (or Date) is an HTTP date within
// MaxClockSkew of now.
func CheckDate(r *http.Request, now time.Time) error {
	raw := liteDate(r)
	if raw == "" {
		return AuthFailed("the request has neither an x-ms-date nor a Date header")
	}
	t, err := http.ParseTime(raw)
	if err != nil {
		return AuthFailed("request date %q is not an HTTP date", raw)
	}
	if skew := now.Sub(t).Abs(); skew > MaxClockSkew {
		return AuthFailed("request date %q is %s from the server's time; at most %s is allowed", raw, skew.Round(time.Second), MaxClockSkew)
	}
	return nil
}

func (a *Authenticator) verifySAS(ctx context.Context, r *http.Request, account string, t Target) (*Grant, error) {
	s, err := ParseSAS(r.URL.Query())
	if err != nil {
		return nil, err
	}
	key, err := a.Keys(ctx, account)
	if err != nil {
		return nil, err
	}
	if !signatureMatches(key, s.stringToSign(a.Service, account, t), s.Signature) {
		return nil, AuthFailed("the SAS signature (sig) does not match the signed fields; it was not signed with this account's key, or a field was changed")
	}
	if err := s.checkTimes(a.now()); err != nil {
		return nil, err
	}
	if err := s.checkProtocol(r); err != nil {
		return nil, err
	}
	if err := s.checkIP(a.clientIP(r)); err != nil {
		return nil, err
	}
	return &Grant{service: a.Service, sas: s, target: t}, nil
}

func (a *Authenticator) clientIP(r *http.Request) string {
	if a.ClientIP != nil {
		return a.ClientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *SAS) checkTimes(now time.Time) error {
	if now.After(s.expiry) {
		return AuthFailed("the SAS expired at %s (se); the server's time is %s", s.Expiry, now.UTC().Format(time.RFC3339))
	}
	if !s.start.IsZero() && now.Before(s.start) {
		return AuthFailed("the SAS is valid only from %s (st); the server's time is %s", s.Start, now.UTC().Format(time.RFC3339))
	}
	return nil
}

func (s *SAS) checkProtocol(r *http.Request) error {
	if s.Protocol == "https" && r.TLS == nil {
		return Forbidden("AuthorizationProtocolMismatch", "the SAS allows https only (spr=https) and this request came over http")
	}
	return nil
}

func (s *SAS) checkIP(client string) error {
	if s.IP == "" {
		return nil
	}
	ip, err := netip.ParseAddr(client)
	if err == nil {
		ip = ip.Unmap()
	}
	if err != nil || ip.Less(s.ipFrom) || s.ipTo.Less(ip) {
		return Forbidden("AuthorizationSourceIPMismatch", "the SAS allows requests from %s only (sip); this one came from %s", s.IP, client)
	}
	return nil
}
