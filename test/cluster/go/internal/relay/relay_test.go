package relay

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// echoServer answers with a greeting, then echoes until the client's EOF.
func echoServer(t *testing.T) net.Listener {
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
			go func() { fmt.Fprint(c, "hello\n"); io.Copy(c, c); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln
}

func roundTrip(t *testing.T, c net.Conn) string {
	t.Helper()
	fmt.Fprint(c, "ping\n")
	c.(*net.TCPConn).CloseWrite() // half-close must reach the far end
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	return string(b)
}

func TestForwardHalfClose(t *testing.T) {
	target := echoServer(t)
	front, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go serve(ctx, front, target.Addr().String(), nil)
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", front.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if got := roundTrip(t, c); got != "hello\nping\n" {
			t.Fatalf("got %q", got)
		}
	}
	cancel()
}

func TestListenInNetNS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	name := fmt.Sprintf("kpgrelay%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", name).Run()
	ns := "/run/netns/" + name
	target := echoServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// lo is still down here: ListenInNetNS must bring it up.
	if err := ListenInNetNS(ctx, ns, "127.0.0.1:6443", target.Addr().String(), nil); err != nil {
		t.Fatal(err)
	}
	var c net.Conn
	if err := InNetNS(ns, func() (err error) { c, err = net.Dial("tcp", "127.0.0.1:6443"); return }); err != nil {
		t.Fatal(err)
	}
	if got := roundTrip(t, c); got != "hello\nping\n" {
		t.Fatalf("got %q", got)
	}
	// The listener is in the pod netns (the host may have its own 6443).
	out, _ := exec.Command("ip", "netns", "exec", name, "ss", "-Hltn").CombinedOutput()
	if want := "127.0.0.1:6443"; !strings.Contains(string(out), want) {
		t.Fatalf("no listener in netns: %s", out)
	}
	cancel()
}
