package relay

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// switchable is a Faults a test flips.
type switchable struct {
	mu sync.Mutex
	c  Conditions
	ch chan struct{}
}

func newSwitchable() *switchable { return &switchable{ch: make(chan struct{})} }

func (s *switchable) set(c Conditions) {
	s.mu.Lock()
	s.c = c
	close(s.ch)
	s.ch = make(chan struct{})
	s.mu.Unlock()
}

func (s *switchable) faults() Faults {
	return func() (Conditions, <-chan struct{}) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.c, s.ch
	}
}

// lineEcho answers every line with the same line.
func lineEcho(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintln(c, sc.Text())
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func relayFor(t *testing.T, target string, f Faults) string {
	front, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go serve(ctx, front, target, f)
	return front.Addr().String()
}

// rtt sends one line and times its echo; it fails after limit.
func rtt(c net.Conn, r *bufio.Reader, limit time.Duration) (time.Duration, error) {
	t0 := time.Now()
	c.SetDeadline(t0.Add(limit))
	if _, err := fmt.Fprintln(c, "ping"); err != nil {
		return 0, err
	}
	if _, err := r.ReadString('\n'); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

func TestRelayLatency(t *testing.T) {
	sw := newSwitchable()
	addr := relayFor(t, lineEcho(t), sw.faults())
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	base, err := rtt(c, r, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	sw.set(Conditions{Latency: 300 * time.Millisecond})
	slow, err := rtt(c, r, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if slow < 300*time.Millisecond || slow > 300*time.Millisecond+base+time.Second {
		t.Errorf("round trip with 300ms latency took %s (without: %s)", slow, base)
	}
	sw.set(Conditions{})
	if fast, err := rtt(c, r, 5*time.Second); err != nil || fast > 200*time.Millisecond {
		t.Errorf("after the latency ended: %s %v", fast, err)
	}
}

func TestRelayHang(t *testing.T) {
	sw := newSwitchable()
	addr := relayFor(t, lineEcho(t), sw.faults())
	old, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	oldR := bufio.NewReader(old)
	if _, err := rtt(old, oldR, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	sw.set(Conditions{Hang: true})
	// An open connection stalls and a new one is accepted but never answered.
	if _, err := rtt(old, oldR, 300*time.Millisecond); err == nil {
		t.Error("open connection answered while hanging")
	}
	fresh, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("a hanging relay still accepts: %v", err)
	}
	defer fresh.Close()
	freshR := bufio.NewReader(fresh)
	if _, err := rtt(fresh, freshR, 300*time.Millisecond); err == nil {
		t.Error("new connection answered while hanging")
	}
	sw.set(Conditions{})
	// Both resume: what was sent meanwhile arrives late, not lost.
	for _, x := range []struct {
		c net.Conn
		r *bufio.Reader
	}{{old, oldR}, {fresh, freshR}} {
		x.c.SetDeadline(time.Now().Add(5 * time.Second))
		if l, err := x.r.ReadString('\n'); err != nil || l != "ping\n" {
			t.Errorf("after the hang: %q %v", l, err)
		}
	}
}
