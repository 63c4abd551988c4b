package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestSSEFlowsEventByEvent(t *testing.T) {
	next := make(chan struct{})
	sse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "data: event-%d\n\n", i)
			http.NewResponseController(w).Flush()
			select {
			case <-next: // the next event waits until the client saw this one
			case <-r.Context().Done():
				return
			}
		}
	}))
	defer sse.Close()
	base := startProxy(t, targets(t, time.Second, sse.URL), 1024, &reports{})
	resp, err := http.Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	for i := 0; i < 3; i++ {
		line, err := rd.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: event-%d\n", i) {
			t.Fatalf("event %d: %q %v", i, line, err)
		}
		_, _ = rd.ReadString('\n')
		if i < 2 {
			next <- struct{}{}
		}
	}
}

func TestRequestBodyStreams(t *testing.T) {
	firstChunk := make(chan struct{})
	const size = 4 << 20 // far above MaxBodyBytes: never buffered
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 5)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		close(firstChunk) // the backend has bytes before the client sent the rest
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%d", n+5)
	}))
	defer up.Close()
	base := startProxy(t, targets(t, 5*time.Second, up.URL), 1024, &reports{})
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte("hello"))
		<-firstChunk
		_, _ = pw.Write(make([]byte, size-5))
		_ = pw.Close()
	}()
	resp, err := http.Post(base+"/upload", "application/octet-stream", pr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != fmt.Sprint(size) {
		t.Fatalf("backend counted %s bytes", body)
	}
}

func TestWebSocketPassThrough(t *testing.T) {
	up := websocket.Upgrader{}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			_ = c.WriteMessage(mt, append([]byte("echo:"), msg...))
		}
	}))
	defer echo.Close()
	// The first endpoint refuses: the upgrade moves on like any unsent request.
	base := startProxy(t, targets(t, time.Second, refusedURL(t), echo.URL), 1024, &reports{})
	c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer c.Close()
	for i := 0; i < 3; i++ {
		msg := fmt.Sprintf("m%d", i)
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.ReadMessage()
		if err != nil || string(got) != "echo:"+msg {
			t.Fatalf("got %q %v", got, err)
		}
	}
}

func TestH2CInbound(t *testing.T) {
	b := newBackend(t, "only", "ok")
	base := serveFrontend(t, New(Options{Picker: targets(t, time.Second, b.srv.URL), MaxBodyBytes: 1024}))
	tr := &http.Transport{}
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Post(base+"/", "text/plain", strings.NewReader("abc"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(body) != "only" || b.lastBody.Load() != "abc" {
		t.Fatalf("proto %s body %q backend got %q", resp.Proto, body, b.lastBody.Load())
	}
}
