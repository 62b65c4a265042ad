package kubeletserver

import (
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

type flag struct {
	mu   sync.Mutex
	down bool
	ch   chan struct{}
}

func (f *flag) set(d bool) {
	f.mu.Lock()
	f.down = d
	close(f.ch)
	f.ch = make(chan struct{})
	f.mu.Unlock()
}

func (f *flag) get() (bool, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.down, f.ch
}

func TestGatedListener(t *testing.T) {
	f := &flag{ch: make(chan struct{})}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(gatedListener{Listener: tcp, down: f.get})
	defer srv.Close()
	url := "http://" + tcp.Addr().String() + "/"
	get := func(timeout time.Duration) error {
		c := http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	f.set(true)
	t0 := time.Now()
	if err := get(400 * time.Millisecond); err == nil {
		t.Fatal("answered while down")
	}
	if time.Since(t0) < 350*time.Millisecond {
		t.Error("a down kubelet must hang, not refuse")
	}
	// A request made while down is answered once the node is back.
	errc := make(chan error, 1)
	go func() { errc <- get(5 * time.Second) }()
	time.Sleep(100 * time.Millisecond)
	f.set(false)
	if err := <-errc; err != nil {
		t.Errorf("after up: %v", err)
	}
}
