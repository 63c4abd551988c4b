package storage

import (
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Shared access signatures: a token in the query string that grants
// some permissions on some resources until an expiry, signed with the
// account key. An account SAS names the services (ss) and resource types
// (srt) it covers; a service SAS names one resource: a table (tn, with
// optional key ranges spk/srk/epk/erk), a queue (the request's), or a
// container or blob (sr). What is signed, field by field and per signed
// version (sv), is in stringToSign below, as Azure defines it and the
// SDKs build it (azblob/azqueue sas/account.go and sas/service.go,
// aztables sas_account.go and sas_service.go).

// SAS is a parsed shared access signature. The string fields are the
// query values exactly as sent: the signature covers them verbatim.
type SAS struct {
	Version, Services, ResourceTypes, Permissions string
	Start, Expiry, IP, Protocol, Identifier       string
	Resource, EncryptionScope, Signature          string
	// Table service SAS.
	TableName, StartPK, StartRK, EndPK, EndRK string
	// Blob service SAS response headers (rscc, rscd, rsce, rscl, rsct).
	CacheControl, ContentDisposition, ContentEncoding, ContentLanguage, ContentType string

	start, expiry time.Time
	ipFrom, ipTo  netip.Addr
}

// IsAccount reports whether this is an account SAS (it names services).
func (s *SAS) IsAccount() bool { return s.Services != "" }

// HasSAS reports whether a query carries a shared access signature.
func HasSAS(q url.Values) bool { return q.Has("sig") }

// maxSASField bounds each SAS field (a signature is 44 characters).
const maxSASField = 1024

// ParseSAS reads the SAS fields of a query; errors name the field.
func ParseSAS(q url.Values) (*SAS, error) {
	for _, f := range []string{"skoid", "sktid", "skt", "ske", "sks", "skv", "saoid", "suoid", "scid", "sduoid"} {
		if q.Has(f) {
			return nil, AuthFailed("user delegation SAS (%s) is not supported; sign the SAS with the account key", f)
		}
	}
	s := &SAS{}
	fields := []struct {
		name string
		dst  *string
	}{
		{"sv", &s.Version}, {"ss", &s.Services}, {"srt", &s.ResourceTypes}, {"sp", &s.Permissions},
		{"st", &s.Start}, {"se", &s.Expiry}, {"sip", &s.IP}, {"spr", &s.Protocol}, {"si", &s.Identifier},
		{"sr", &s.Resource}, {"ses", &s.EncryptionScope}, {"sig", &s.Signature},
		{"tn", &s.TableName}, {"spk", &s.StartPK}, {"srk", &s.StartRK}, {"epk", &s.EndPK}, {"erk", &s.EndRK},
		{"rscc", &s.CacheControl}, {"rscd", &s.ContentDisposition}, {"rsce", &s.ContentEncoding},
		{"rscl", &s.ContentLanguage}, {"rsct", &s.ContentType},
	}
	for _, f := range fields {
		v := q[f.name]
		if len(v) > 1 {
			return nil, AuthFailed("SAS field %s is given %d times", f.name, len(v))
		}
		if len(v) == 1 && len(v[0]) > maxSASField {
			return nil, AuthFailed("SAS field %s is longer than %d characters", f.name, maxSASField)
		}
		if len(v) == 1 {
			*f.dst = v[0]
		}
	}
	if err := s.parseFields(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *SAS) parseFields() error {
	switch {
	case s.Signature == "":
		return AuthFailed("SAS field sig (the signature) is missing")
	case !validVersion(s.Version):
		return AuthFailed("SAS field sv (signed version) %q is not a version date such as 2019-02-02", s.Version)
	case s.Identifier != "":
		return AuthFailed("SAS field si names a stored access policy; stored access policies are not supported")
	case s.Expiry == "":
		return AuthFailed("SAS field se (signed expiry) is missing")
	case s.Permissions == "":
		return AuthFailed("SAS field sp (signed permissions) is missing")
	}
	if s.IsAccount() && s.ResourceTypes == "" {
		return AuthFailed("account SAS field srt (signed resource types) is missing")
	}
	var err error
	if s.expiry, err = parseSASTime("se", s.Expiry); err != nil {
		return err
	}
	if s.Start != "" {
		if s.start, err = parseSASTime("st", s.Start); err != nil {
			return err
		}
	}
	if s.Protocol != "" && s.Protocol != "https" && s.Protocol != "https,http" {
		return AuthFailed("SAS field spr (signed protocol) %q must be https or https,http", s.Protocol)
	}
	return s.parseIP()
}

// validVersion accepts a version date yyyy-mm-dd.
func validVersion(v string) bool {
	_, err := time.Parse("2006-01-02", v)
	return err == nil
}

// sasTimeLayouts are the ISO 8601 forms Azure accepts in st and se.
var sasTimeLayouts = []string{
	"2006-01-02T15:04:05Z", "2006-01-02T15:04:05.0000000Z", time.RFC3339Nano, "2006-01-02T15:04Z", "2006-01-02",
}

func parseSASTime(field, v string) (time.Time, error) {
	for _, layout := range sasTimeLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, AuthFailed("SAS field %s %q is not an ISO 8601 UTC time such as 2025-01-02T03:04:05Z", field, v)
}

func (s *SAS) parseIP() error {
	if s.IP == "" {
		return nil
	}
	from, to, ranged := strings.Cut(s.IP, "-")
	var err error
	if s.ipFrom, err = netip.ParseAddr(from); err != nil {
		return AuthFailed("SAS field sip (signed IP) %q is not an address or a range a-b", s.IP)
	}
	s.ipTo = s.ipFrom
	if ranged {
		if s.ipTo, err = netip.ParseAddr(to); err != nil || s.ipTo.Less(s.ipFrom) {
			return AuthFailed("SAS field sip (signed IP) %q is not an address or a range a-b", s.IP)
		}
	}
	return nil
}

// versionAtLeast compares version dates (they sort as strings).
func versionAtLeast(v, min string) bool { return v >= min }

// stringToSign is what the signer signed, per kind of SAS and version.
func (s *SAS) stringToSign(svc Service, account string, t Target) string {
	if s.IsAccount() {
		return s.accountStringToSign(account)
	}
	switch svc {
	case Table:
		return strings.Join([]string{s.Permissions, s.Start, s.Expiry, "/table/" + account + "/" + strings.ToLower(s.TableName),
			s.Identifier, s.IP, s.Protocol, s.Version, s.StartPK, s.StartRK, s.EndPK, s.EndRK}, "\n")
	case Queue:
		return strings.Join([]string{s.Permissions, s.Start, s.Expiry, "/queue/" + account + "/" + t.Name,
			s.Identifier, s.IP, s.Protocol, s.Version}, "\n")
	}
	return s.blobStringToSign(account, t)
}

func (s *SAS) accountStringToSign(account string) string {
	fields := []string{account, s.Permissions, s.Services, s.ResourceTypes, s.Start, s.Expiry, s.IP, s.Protocol, s.Version}
	if versionAtLeast(s.Version, "2020-12-06") {
		fields = append(fields, s.EncryptionScope)
	}
	return strings.Join(append(fields, ""), "\n") // a trailing newline
}

func (s *SAS) blobStringToSign(account string, t Target) string {
	canonical := "/blob/" + account + "/" + t.Name
	if s.Resource != "c" && t.Blob != "" {
		canonical += "/" + t.Blob
	}
	fields := []string{s.Permissions, s.Start, s.Expiry, canonical, s.Identifier, s.IP, s.Protocol, s.Version}
	if versionAtLeast(s.Version, "2018-11-09") {
		fields = append(fields, s.Resource, t.Snapshot)
	}
	if versionAtLeast(s.Version, "2020-12-06") {
		fields = append(fields, s.EncryptionScope)
	}
	fields = append(fields, s.CacheControl, s.ContentDisposition, s.ContentEncoding, s.ContentLanguage, s.ContentType)
	return strings.Join(fields, "\n")
}
