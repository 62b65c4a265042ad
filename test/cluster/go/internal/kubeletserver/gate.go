package kubeletserver

import (
	"net"
	"sync"
)

// Down returns whether the node's kubelet must not answer now, and a channel
// closed when that may have changed. A nil Down means always up.
type Down func() (bool, <-chan struct{})

// gatedListener hands out connections that stall while the node is down:
// a lost node's kubelet neither answers nor refuses, so callers (the API
// server for exec, logs, port-forward) wait for their own timeouts. Kept-alive
// connections stall the same way.
type gatedListener struct {
	net.Listener
	down Down
}

func (l gatedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil || l.down == nil {
		return c, err
	}
	return &gatedConn{Conn: c, down: l.down, closed: make(chan struct{})}, nil
}

type gatedConn struct {
	net.Conn
	down      Down
	closeOnce sync.Once
	closed    chan struct{}
}

// wait blocks while the node is down; false once the conn is closed.
func (c *gatedConn) wait() bool {
	for {
		d, ch := c.down()
		if !d {
			return true
		}
		select {
		case <-ch:
		case <-c.closed:
			return false
		}
	}
}

func (c *gatedConn) Read(b []byte) (int, error) {
	if !c.wait() {
		return 0, net.ErrClosed
	}
	return c.Conn.Read(b)
}

func (c *gatedConn) Write(b []byte) (int, error) {
	if !c.wait() {
		return 0, net.ErrClosed
	}
	return c.Conn.Write(b)
}

func (c *gatedConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
