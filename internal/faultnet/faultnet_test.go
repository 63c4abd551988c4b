package faultnet

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCutAndHeal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	l, err := Listen("127.0.0.1:0", srv.Listener.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	get := func() error {
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get("http://" + l.Addr())
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && string(b) != "ok" {
			t.Fatalf("body %q", b)
		}
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("through the link: %v", err)
	}
	l.Cut()
	if err := get(); err == nil {
		t.Fatal("request crossed a cut link")
	}
	l.Heal()
	if err := get(); err != nil {
		t.Fatalf("after heal: %v", err)
	}
}
