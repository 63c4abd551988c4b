package region

import (
	"strings"
	"testing"
)

func TestDefaultStorage(t *testing.T) {
	for _, c := range []struct {
		v    string
		set  bool
		want bool
	}{
		{"", false, true}, {"", true, true}, {"UseDevelopmentStorage=true", true, true}, {" usedevelopmentstorage=true; ", true, true},
		{"DefaultEndpointsProtocol=https;AccountName=real;AccountKey=k;EndpointSuffix=core.windows.net", true, false},
		{"UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://x", true, false},
	} {
		if got := defaultStorage(c.v, c.set); got != c.want {
			t.Errorf("defaultStorage(%q, %v) = %v, want %v", c.v, c.set, got, c.want)
		}
	}
}

func TestStorageInfoNamesEveryService(t *testing.T) {
	si := newStorageInfo("shop", "a2V5", "https://tandem.example.com/")
	want := "DefaultEndpointsProtocol=https;AccountName=shop;AccountKey=a2V5;TableEndpoint=https://tandem.example.com/tables/shop;" +
		"QueueEndpoint=https://tandem.example.com/queues/shop;BlobEndpoint=https://tandem.example.com/blobs/shop;"
	if si.ConnectionString != want {
		t.Fatalf("connection string\n%s\nwant\n%s", si.ConnectionString, want)
	}
}

func TestPublicURLChecked(t *testing.T) {
	for _, c := range []struct {
		v  string
		ok bool
	}{
		{"", true}, {"http://127.0.0.1:7071", true}, {"https://tandem.example.com/", true},
		{"tandem.example.com", false}, {"ftp://x", false}, {"http://x/path", false}, {"http://", false}, {"http://x?q=1", false},
	} {
		err := checkPublicURL(c.v)
		if (err == nil) != c.ok {
			t.Errorf("checkPublicURL(%q) = %v, want ok %v", c.v, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "--public-url") {
			t.Errorf("error %q does not name the flag", err)
		}
	}
}
