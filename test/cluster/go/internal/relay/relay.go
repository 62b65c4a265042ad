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

// ListenInNetNS listens on listenAddr inside the network namespace netnsPath
// and forwards every accepted connection byte-for-byte to target, dialled
// from the host namespace. It returns once the listener exists (or failed)
// and keeps serving until ctx is done.
func ListenInNetNS(ctx context.Context, netnsPath, listenAddr, target string) error {
	var ln net.Listener
	err := InNetNS(netnsPath, func() error {
		var lerr error
		ln, lerr = listenLoopback(listenAddr)
		return lerr
	})
	if err != nil {
		return err
	}
	go serve(ctx, ln, target)
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

func serve(ctx context.Context, ln net.Listener, target string) {
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
			forward(ctx, c, target)
		}()
	}
	wg.Wait()
}

// forward pipes c <-> target. Each direction half-closes its writer when its
// reader ends, so request/response protocols that rely on EOF still work.
func forward(ctx context.Context, c net.Conn, target string) {
	defer c.Close()
	d := net.Dialer{Timeout: 10 * time.Second}
	up, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		log.Printf("relay: dial %s: %v", target, err)
		return
	}
	defer up.Close()
	stop := context.AfterFunc(ctx, func() { c.Close(); up.Close() })
	defer stop()
	Pipe(c, up)
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
	if cw, ok := dst.(interface{ CloseWrite() error }); ok && err == nil {
		cw.CloseWrite()
		return
	}
	// On error neither side can continue meaningfully.
	dst.Close()
	src.Close()
}
