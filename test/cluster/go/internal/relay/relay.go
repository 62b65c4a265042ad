// Package relay exposes a host TCP endpoint (the apiserver) on a loopback
// address inside a pod's network namespace, so in-pod clients reach it over
// the pod's own 127.0.0.1 without any routing between pod and host.
package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"time"
)

// Conditions is how the relay treats traffic at a given moment.
type Conditions struct {
	// Hang: connections are accepted but nothing is forwarded either way,
	// as with an unreachable or unresponsive server; traffic resumes when
	// the condition ends.
	Hang bool
	// Latency is added to every round trip: each chunk is held Latency/2
	// in each direction.
	Latency time.Duration
}

// Faults returns the current conditions and a channel closed when they
// change. A nil Faults means no faults.
type Faults func() (Conditions, <-chan struct{})

func (f Faults) now() (Conditions, <-chan struct{}) {
	if f == nil {
		return Conditions{}, nil
	}
	return f()
}

// waitNoHang blocks while the relay must hang; false when done ended it.
func (f Faults) waitNoHang(done <-chan struct{}) bool {
	for {
		c, ch := f.now()
		if !c.Hang {
			return true
		}
		select {
		case <-ch:
		case <-done:
			return false
		}
	}
}

// ListenInNetNS listens on listenAddr inside the network namespace netnsPath
// and forwards every accepted connection byte-for-byte to target, dialled
// from the host namespace, subject to faults. It returns once the listener
// exists (or failed) and keeps serving until ctx is done.
func ListenInNetNS(ctx context.Context, netnsPath, listenAddr, target string, faults Faults) error {
	var ln net.Listener
	err := InNetNS(netnsPath, func() error {
		var lerr error
		ln, lerr = listenLoopback(listenAddr)
		return lerr
	})
	if err != nil {
		return err
	}
	go serve(ctx, ln, target, faults)
	return nil
}

// listenLoopback makes sure lo is up first: in a netns with lo down, binding
// 127.0.0.1 succeeds but every connect fails with ENETUNREACH.
func listenLoopback(addr string) (net.Listener, error) {
	if err := loopbackUp(); err != nil {
		return nil, fmt.Errorf("bring up lo: %w", err)
	}
	return net.Listen("tcp", addr)
}

func serve(ctx context.Context, ln net.Listener, target string, faults Faults) {
	var wg sync.WaitGroup
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		ln.Close()
	}()
	defer close(done)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				log.Printf("relay %s: accept: %v", ln.Addr(), err)
			}
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			forward(ctx, c, target, faults)
		}()
	}
	wg.Wait()
}

// forward pipes c <-> target. Each direction half-closes its writer when its
// reader ends, so request/response protocols that rely on EOF still work.
func forward(ctx context.Context, c net.Conn, target string, faults Faults) {
	defer c.Close()
	if !faults.waitNoHang(ctx.Done()) {
		return
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	up, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		log.Printf("relay: dial %s: %v", target, err)
		return
	}
	defer up.Close()
	stop := context.AfterFunc(ctx, func() { c.Close(); up.Close() })
	defer stop()
	if faults == nil {
		Pipe(c, up)
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); delayHalf(up, c, faults, ctx.Done()) }()
	go func() { defer wg.Done(); delayHalf(c, up, faults, ctx.Done()) }()
	wg.Wait()
}

// Pipe copies a<->b until both directions are finished.
func Pipe(a, b net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); copyHalf(a, b) }()
	go func() { defer wg.Done(); copyHalf(b, a) }()
	wg.Wait()
}

func copyHalf(dst, src net.Conn) {
	_, err := io.Copy(dst, src)
	finishHalf(dst, src, err)
}

// finishHalf propagates the end of src to dst.
func finishHalf(dst, src net.Conn, err error) {
	if cw, ok := dst.(interface{ CloseWrite() error }); ok && err == nil {
		cw.CloseWrite()
		return
	}
	// On error neither side can continue meaningfully.
	dst.Close()
	src.Close()
}

type chunk struct {
	b  []byte
	at time.Time
}

// delayHalf copies src to dst as a delay line: every chunk is written
// Latency/2 after it was read (latency read when it is written, so a change
// applies at once) and not at all while the relay hangs. Reading goes on
// meanwhile, so the delay does not cut throughput; the queue bounds memory.
func delayHalf(dst, src net.Conn, faults Faults, done <-chan struct{}) {
	q := make(chan chunk, 64)
	var rerr error
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 32*1024)
			n, err := src.Read(buf)
			if n > 0 {
				q <- chunk{buf[:n], time.Now()}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					rerr = err
				}
				return
			}
		}
	}()
	var werr error
	for ch := range q {
		if werr != nil {
			continue // drain so the reader can finish
		}
		if !faults.waitNoHang(done) {
			werr = net.ErrClosed
			dst.Close()
			src.Close()
			continue
		}
		c, _ := faults.now()
		if wait := time.Until(ch.at.Add(c.Latency / 2)); wait > 0 {
			select {
			case <-time.After(wait):
			case <-done:
			}
		}
		if !faults.waitNoHang(done) {
			werr = net.ErrClosed
			dst.Close()
			src.Close()
			continue
		}
		if _, err := dst.Write(ch.b); err != nil {
			werr = err
			dst.Close()
			src.Close()
		}
	}
	if werr == nil {
		finishHalf(dst, src, rerr)
	}
}
