package kubeletserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"k8s.io/cri-streaming/pkg/streaming/portforward"

	"kpg.local/cluster/internal/podapi"
	"kpg.local/cluster/internal/relay"
)

// forwarder dials ports on the pod's loopback. It never dials the pod IP
// from the host: like the real kubelet/CRI, port-forward reaches servers
// that listen on 127.0.0.1 only.
type forwarder struct{ c podapi.Container }

var _ portforward.PortForwarder = forwarder{}

func (f forwarder) PortForward(ctx context.Context, _ string, _ string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	netns := f.c.NetNS
	if _, err := os.Stat(netns); err != nil && f.c.PID > 0 {
		// The process still pins its namespace even if the name is gone.
		netns = fmt.Sprintf("/proc/%d/ns/net", f.c.PID)
	}
	conn, err := dialInNetNS(netns, port)
	if err != nil {
		return fmt.Errorf("pod %s/%s: %w", f.c.Namespace, f.c.Pod, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Client finished sending: pass the EOF on, keep reading replies.
		io.Copy(conn, stream)
		conn.(*net.TCPConn).CloseWrite()
	}()
	_, err = io.Copy(stream, conn)
	// The server side is done; closing the stream also ends the copier above.
	stream.Close()
	conn.Close()
	wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// dialInNetNS connects to localhost:port inside netns. The socket is created
// while the thread is inside the namespace; afterwards it works from anywhere.
func dialInNetNS(netns string, port int32) (net.Conn, error) {
	if netns == "" {
		return nil, errors.New("container has no network namespace")
	}
	var conn net.Conn
	err := relay.InNetNS(netns, func() error {
		d := net.Dialer{Timeout: 5 * time.Second}
		var err error
		conn, err = d.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil && errors.Is(err, syscall.ECONNREFUSED) {
			// Servers bound to ::1 only.
			if c6, err6 := d.Dial("tcp6", fmt.Sprintf("[::1]:%d", port)); err6 == nil {
				conn, err = c6, nil
			}
		}
		return err
	})
	return conn, err
}
