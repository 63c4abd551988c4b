package storage

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"SharedKey shop:abc=", "SharedKeyLite a:b", "Bearer x", "SharedKey :", "SharedKey a:b:c", " SharedKey  a:b "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		scheme, account, sig, err := ParseAuthorization(h)
		if err != nil {
			if AsError(err).Status != http.StatusForbidden {
				t.Fatalf("%q: %v is not a 403", h, err)
			}
			return
		}
		if account == "" || sig == "" || (scheme != SchemeSharedKey && scheme != SchemeSharedKeyLite) {
			t.Fatalf("%q parsed to %q %q %q", h, scheme, account, sig)
		}
	})
}

func FuzzParseSAS(f *testing.F) {
	for _, s := range []string{
		"sv=2019-02-02&ss=t&srt=sco&sp=rwdlacu&se=2030-01-01T00:00:00Z&st=2020-01-01T00:00:00Z&spr=https&sip=10.0.0.1-10.0.0.9&sig=abc",
		"sv=2019-02-02&tn=orders&sp=raud&se=2030-01-01T00:00:00Z&spk=a&srk=b&epk=c&erk=d&sig=abc",
		"sv=2021-08-06&sr=b&sp=r&se=2030-01-01&ses=s&rsct=text%2Fplain&sig=x",
		"sig=&sv=&sip=::1-::2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		s, err := ParseSAS(q)
		if err != nil {
			if AsError(err).Status != http.StatusForbidden {
				t.Fatalf("%q: %v is not a 403", raw, err)
			}
			return
		}
		for _, svc := range []Service{Blob, Queue, Table} {
			_ = s.stringToSign(svc, "acct", Target{Name: "n", Blob: "b"})
		}
		r := httptest.NewRequest("GET", "/acct/n", nil)
		_ = s.checkIP("10.0.0.1")
		_ = s.checkProtocol(r)
		g := &Grant{service: Table, sas: s}
		_ = g.Allow(Need{Type: ResourceObject, Name: "n", AnyOf: []string{"r"}, HasKeys: true, PartitionKey: "p"})
	})
}

func FuzzCollate(f *testing.F) {
	f.Add("x-ms-meta-a", "x-ms-metaa")
	f.Add("x-ms-date", "x-ms-version")
	f.Fuzz(func(t *testing.T, a, b string) {
		if collate(a, b) != -collate(b, a) {
			t.Fatalf("collate(%q, %q) = %d but collate(%q, %q) = %d", a, b, collate(a, b), b, a, collate(b, a))
		}
		if collate(a, a) != 0 {
			t.Fatalf("collate(%q, itself) = %d", a, collate(a, a))
		}
	})
}
