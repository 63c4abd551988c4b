package storage

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// sasRequest is a request carrying token, from addr, over TLS if tls.
func sasRequest(target, token, addr string, overTLS bool) *http.Request {
	r := httptest.NewRequest("GET", target+"?"+token, nil)
	r.RemoteAddr = addr + ":1234"
	if overTLS {
		r.TLS = &tls.ConnectionState{}
	}
	return r
}

func tableCred(t *testing.T) *aztables.SharedKeyCredential {
	c, err := aztables.NewSharedKeyCredential(testAccount, testKeyB64())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func blobCred(t *testing.T) *azblob.SharedKeyCredential {
	c, err := azblob.NewSharedKeyCredential(testAccount, testKeyB64())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type sasCase struct {
	name   string
	svc    Service
	token  func(t *testing.T) string
	target string
	tgt    Target
	need   Need
	addr   string
	tls    bool
	code   string // "" = allowed
}

func TestSASFromSDKs(t *testing.T) {
	now := time.Now().UTC()
	hour := now.Add(time.Hour)
	tableAccount := func(v aztables.AccountSASSignatureValues) func(t *testing.T) string {
		return func(t *testing.T) string {
			if v.ExpiryTime.IsZero() {
				v.ExpiryTime = hour
			}
			p, err := v.Sign(tableCred(t))
			if err != nil {
				t.Fatal(err)
			}
			return p.Encode()
		}
	}
	tableService := func(v aztables.SASSignatureValues) func(t *testing.T) string {
		return func(t *testing.T) string {
			if v.ExpiryTime.IsZero() {
				v.ExpiryTime = hour
			}
			s, err := v.Sign(tableCred(t))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	blobAccount := func(v sas.AccountSignatureValues) func(t *testing.T) string {
		return func(t *testing.T) string {
			v.ExpiryTime = hour
			p, err := v.SignWithSharedKey(blobCred(t))
			if err != nil {
				t.Fatal(err)
			}
			return p.Encode()
		}
	}
	blobService := func(v sas.BlobSignatureValues) func(t *testing.T) string {
		return func(t *testing.T) string {
			v.ExpiryTime = hour
			p, err := v.SignWithSharedKey(blobCred(t))
			if err != nil {
				t.Fatal(err)
			}
			return p.Encode()
		}
	}
	entities := Need{Type: ResourceObject, Name: "Orders", AnyOf: []string{"r"}}
	allTypes := aztables.AccountSASResourceTypes{Service: true, Container: true, Object: true}.String()
	cases := []sasCase{
		{name: "table account SAS", svc: Table, token: tableAccount(aztables.AccountSASSignatureValues{
			Permissions: "rwdlacu", Services: "t", ResourceTypes: allTypes, StartTime: now.Add(-time.Minute)}),
			target: "/shop/Orders()", need: entities},
		{name: "table account SAS https only over https", svc: Table, token: tableAccount(aztables.AccountSASSignatureValues{
			Protocol: aztables.SASProtocolHTTPS, Permissions: "r", Services: "t", ResourceTypes: "o"}),
			target: "/shop/Orders()", need: entities, tls: true},
		{name: "table account SAS https only over http", svc: Table, token: tableAccount(aztables.AccountSASSignatureValues{
			Protocol: aztables.SASProtocolHTTPS, Permissions: "r", Services: "t", ResourceTypes: "o"}),
			target: "/shop/Orders()", need: entities, code: "AuthorizationProtocolMismatch"},
		{name: "table account SAS lacks the permission", svc: Table, token: tableAccount(aztables.AccountSASSignatureValues{
			Permissions: "r", Services: "t", ResourceTypes: "o"}),
			target: "/shop/Orders()", need: Need{Type: ResourceObject, Name: "Orders", AnyOf: []string{"a"}}, code: "AuthorizationPermissionMismatch"},
		{name: "table account SAS lacks the resource type", svc: Table, token: tableAccount(aztables.AccountSASSignatureValues{
			Permissions: "rl", Services: "t", ResourceTypes: "o"}),
			target: "/shop/Tables", need: Need{Type: ResourceContainer, AnyOf: []string{"l"}}, code: "AuthorizationResourceTypeMismatch"},
		{name: "account SAS for another service", svc: Table, token: tableAccount(aztables.AccountSASSignatureValues{
			Permissions: "r", Services: "bq", ResourceTypes: "o"}),
			target: "/shop/Orders()", need: entities, code: "AuthorizationServiceMismatch"},
		{name: "expired", svc: Table, token: tableAccount(aztables.AccountSASSignatureValues{
			Permissions: "r", Services: "t", ResourceTypes: "o", ExpiryTime: now.Add(-time.Minute)}),
			target: "/shop/Orders()", need: entities, code: "AuthenticationFailed"},
		{name: "not yet valid", svc: Table, token: tableAccount(aztables.AccountSASSignatureValues{
			Permissions: "r", Services: "t", ResourceTypes: "o", StartTime: now.Add(10 * time.Minute)}),
			target: "/shop/Orders()", need: entities, code: "AuthenticationFailed"},
		{name: "IP in range", svc: Table, token: tableAccount(aztables.AccountSASSignatureValues{
			Permissions: "r", Services: "t", ResourceTypes: "o", IPRange: aztables.IPRange{Start: net.ParseIP("10.0.0.1"), End: net.ParseIP("10.0.0.9")}}),
			target: "/shop/Orders()", need: entities, addr: "10.0.0.5"},
		{name: "IP out of range", svc: Table, token: tableAccount(aztables.AccountSASSignatureValues{
			Permissions: "r", Services: "t", ResourceTypes: "o", IPRange: aztables.IPRange{Start: net.ParseIP("10.0.0.1"), End: net.ParseIP("10.0.0.9")}}),
			target: "/shop/Orders()", need: entities, addr: "10.0.1.5", code: "AuthorizationSourceIPMismatch"},
		{name: "table SAS", svc: Table, token: tableService(aztables.SASSignatureValues{TableName: "Orders", Permissions: "raud"}),
			target: "/shop/Orders()", need: entities},
		{name: "table SAS, other table", svc: Table, token: tableService(aztables.SASSignatureValues{TableName: "Orders", Permissions: "r"}),
			target: "/shop/Other()", need: Need{Type: ResourceObject, Name: "Other", AnyOf: []string{"r"}}, code: "AuthorizationResourceTypeMismatch"},
		{name: "table SAS cannot list tables", svc: Table, token: tableService(aztables.SASSignatureValues{TableName: "Orders", Permissions: "raud"}),
			target: "/shop/Tables", need: Need{Type: ResourceContainer, AnyOf: []string{"l"}}, code: "AuthorizationResourceTypeMismatch"},
		{name: "table SAS without delete", svc: Table, token: tableService(aztables.SASSignatureValues{TableName: "Orders", Permissions: "ra"}),
			target: "/shop/Orders(PartitionKey='p',RowKey='r')", need: Need{Type: ResourceObject, Name: "Orders", AnyOf: []string{"d"}}, code: "AuthorizationPermissionMismatch"},
		{name: "blob account SAS", svc: Blob, token: blobAccount(sas.AccountSignatureValues{
			Permissions: (&sas.AccountPermissions{Read: true, List: true}).String(), ResourceTypes: (&sas.AccountResourceTypes{Container: true, Object: true}).String()}),
			target: "/shop/orders/a.txt", need: Need{Type: ResourceObject, Name: "orders", Blob: "a.txt", AnyOf: []string{"r"}}},
		{name: "blob account SAS with an encryption scope", svc: Blob, token: blobAccount(sas.AccountSignatureValues{
			Permissions: "r", ResourceTypes: "o", EncryptionScope: "scope1"}),
			target: "/shop/orders/a.txt", need: Need{Type: ResourceObject, Name: "orders", Blob: "a.txt", AnyOf: []string{"r"}}},
		{name: "container SAS", svc: Blob, token: blobService(sas.BlobSignatureValues{ContainerName: "orders",
			Permissions: (&sas.ContainerPermissions{Read: true, List: true}).String(), ContentType: "text/plain"}),
			target: "/shop/orders/x/y.txt", tgt: Target{Name: "orders", Blob: "x/y.txt"}, need: Need{Type: ResourceObject, Name: "orders", Blob: "x/y.txt", AnyOf: []string{"r"}}},
		{name: "blob SAS", svc: Blob, token: blobService(sas.BlobSignatureValues{ContainerName: "orders", BlobName: "x/y z.txt",
			Permissions: (&sas.BlobPermissions{Read: true, Write: true}).String()}),
			target: "/shop/orders/x/y%20z.txt", tgt: Target{Name: "orders", Blob: "x/y z.txt"}, need: Need{Type: ResourceObject, Name: "orders", Blob: "x/y z.txt", AnyOf: []string{"w"}}},
		{name: "blob SAS used for another blob", svc: Blob, token: blobService(sas.BlobSignatureValues{ContainerName: "orders", BlobName: "a.txt",
			Permissions: "r"}),
			target: "/shop/orders/b.txt", tgt: Target{Name: "orders", Blob: "b.txt"}, need: Need{Type: ResourceObject, Name: "orders", Blob: "b.txt", AnyOf: []string{"r"}}, code: "AuthenticationFailed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runSASCase(t, c) })
	}
}

func runSASCase(t *testing.T, c sasCase) {
	t.Helper()
	addr := c.addr
	if addr == "" {
		addr = "127.0.0.1"
	}
	r := sasRequest(c.target, c.token(t), addr, c.tls)
	auth := &Authenticator{Service: c.svc, Keys: keys}
	g, err := auth.Verify(context.Background(), r, testAccount, c.tgt)
	if err == nil {
		err = g.Allow(c.need)
	}
	switch {
	case c.code == "" && err != nil:
		t.Fatalf("refused: %v (token %s)", err, r.URL.RawQuery)
	case c.code != "" && (err == nil || AsError(err).Code != c.code):
		t.Fatalf("err = %v, want %s", err, c.code)
	}
}

// queueSAS signs a queue service SAS as azqueue's sas.QueueSignatureValues
// does (that SDK is not a dependency): sp, st, se, /queue/<account>/<queue>,
// si, sip, spr, sv.
func queueSAS(sp, se, queue string) string {
	toSign := strings.Join([]string{sp, "", se, "/queue/" + testAccount + "/" + queue, "", "", "", "2018-03-28"}, "\n")
	return url.Values{"sv": {"2018-03-28"}, "se": {se}, "sp": {sp}, "sig": {Sign(testKey, toSign)}}.Encode()
}

// accountSAS signs an account SAS by hand for a given version: from
// 2020-12-06 the encryption scope is signed too.
func accountSAS(sv, ss, ses string) string {
	se := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05Z")
	fields := []string{testAccount, "r", ss, "o", "", se, "", "", sv}
	if sv >= "2020-12-06" {
		fields = append(fields, ses)
	}
	toSign := strings.Join(append(fields, ""), "\n")
	v := url.Values{"sv": {sv}, "ss": {ss}, "srt": {"o"}, "sp": {"r"}, "se": {se}, "sig": {Sign(testKey, toSign)}}
	if ses != "" {
		v.Set("ses", ses)
	}
	return v.Encode()
}

func TestSASByHand(t *testing.T) {
	se := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05Z")
	msgs := Need{Type: ResourceObject, Name: "jobs", AnyOf: []string{"a"}}
	cases := []sasCase{
		{name: "queue SAS", svc: Queue, token: func(*testing.T) string { return queueSAS("raup", se, "jobs") },
			target: "/shop/jobs/messages", tgt: Target{Name: "jobs"}, need: msgs},
		{name: "queue SAS for another queue", svc: Queue, token: func(*testing.T) string { return queueSAS("raup", se, "jobs") },
			target: "/shop/other/messages", tgt: Target{Name: "other"}, need: Need{Type: ResourceObject, Name: "other", AnyOf: []string{"a"}}, code: "AuthenticationFailed"},
		{name: "queue SAS read only", svc: Queue, token: func(*testing.T) string { return queueSAS("r", se, "jobs") },
			target: "/shop/jobs/messages", tgt: Target{Name: "jobs"}, need: msgs, code: "AuthorizationPermissionMismatch"},
		{name: "account SAS 2019-02-02", svc: Queue, token: func(*testing.T) string { return accountSAS("2019-02-02", "q", "") },
			target: "/shop/jobs/messages", need: Need{Type: ResourceObject, Name: "jobs", AnyOf: []string{"r"}}},
		{name: "account SAS 2021-08-06 with ses", svc: Blob, token: func(*testing.T) string { return accountSAS("2021-08-06", "bq", "s1") },
			target: "/shop/c/b", need: Need{Type: ResourceObject, Name: "c", Blob: "b", AnyOf: []string{"r"}}},
		{name: "tampered permissions", svc: Queue, token: func(*testing.T) string {
			return strings.Replace(queueSAS("r", se, "jobs"), "sp=r", "sp=raup", 1)
		}, target: "/shop/jobs/messages", tgt: Target{Name: "jobs"}, need: msgs, code: "AuthenticationFailed"},
		{name: "stored access policy", svc: Queue, token: func(*testing.T) string { return queueSAS("r", se, "jobs") + "&si=policy1" },
			target: "/shop/jobs/messages", tgt: Target{Name: "jobs"}, need: msgs, code: "AuthenticationFailed"},
		{name: "bad expiry", svc: Queue, token: func(*testing.T) string { return strings.Replace(queueSAS("r", se, "jobs"), "se=", "se=x", 1) },
			target: "/shop/jobs/messages", tgt: Target{Name: "jobs"}, need: msgs, code: "AuthenticationFailed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runSASCase(t, c) })
	}
}

func TestParseSASNamesTheField(t *testing.T) {
	cases := map[string]string{
		"sv=2019-02-02&se=2030-01-01&sp=r":                                       "sig",
		"sig=x&se=2030-01-01&sp=r":                                               "sv",
		"sig=x&sv=2019-02-02&sp=r":                                               "se",
		"sig=x&sv=2019-02-02&se=2030-01-01":                                      "sp",
		"sig=x&sv=2019-02-02&se=2030-01-01&sp=r&ss=t":                            "srt",
		"sig=x&sv=2019-02-02&se=2030-01-01&sp=r&sip=1.2.3":                       "sip",
		"sig=x&sv=2019-02-02&se=2030-01-01&sp=r&sip=1.2.3.9-1.2.3.1":             "sip",
		"sig=x&sv=2019-02-02&se=2030-01-01&sp=r&spr=http":                        "spr",
		"sig=x&sv=2019-02-02&se=2030-01-01&sp=r&st=yesterday":                    "st",
		"sig=x&sig=y&sv=2019-02-02&se=2030-01-01&sp=r":                           "sig",
		"sig=x&sv=2019-02-02&se=2030-01-01&sp=r&skoid=abc":                       "skoid",
		"sig=x&sv=2019-02-02&se=2030-01-01&sp=r&tn=" + strings.Repeat("a", 2000): "tn",
	}
	for raw, field := range cases {
		q, _ := url.ParseQuery(raw)
		_, err := ParseSAS(q)
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: err = %v, want one naming %s", raw, err, field)
		}
	}
}

// tableRangeSAS signs a table SAS with key ranges as Azure defines it
// (aztables signs spk/srk/epk/erk but leaves them out of the token it
// returns, so it cannot produce one that verifies).
func tableRangeSAS(spk, srk, epk, erk string) string {
	se := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05Z")
	toSign := strings.Join([]string{"r", "", se, "/table/" + testAccount + "/orders", "", "", "", "2019-02-02", spk, srk, epk, erk}, "\n")
	v := url.Values{"sv": {"2019-02-02"}, "tn": {"orders"}, "sp": {"r"}, "se": {se}, "sig": {Sign(testKey, toSign)}}
	for k, val := range map[string]string{"spk": spk, "srk": srk, "epk": epk, "erk": erk} {
		if val != "" {
			v.Set(k, val)
		}
	}
	return v.Encode()
}

func TestTableSASKeyRange(t *testing.T) {
	auth := &Authenticator{Service: Table, Keys: keys}
	r := sasRequest("/shop/orders()", tableRangeSAS("b", "5", "d", "2"), "127.0.0.1", false)
	g, err := auth.Verify(context.Background(), r, testAccount, Target{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		pk, rk string
		ok     bool
	}{{"b", "5", true}, {"b", "4", false}, {"a", "9", false}, {"c", "0", true}, {"d", "2", true}, {"d", "3", false}, {"e", "0", false}} {
		err := g.Allow(Need{Type: ResourceObject, Name: "Orders", AnyOf: []string{"r"}, PartitionKey: c.pk, RowKey: c.rk, HasKeys: true})
		if (err == nil) != c.ok {
			t.Errorf("(%s, %s): %v, want allowed %v", c.pk, c.rk, err, c.ok)
		}
	}
}
