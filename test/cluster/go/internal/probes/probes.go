// Package probes runs a container's exec, tcpSocket and httpGet probes and
// applies the kubelet's timing and threshold rules to their results.
package probes

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Target is what a probe acts on.
type Target struct {
	PodIP     string
	Container *v1.Container
	// Exec runs argv inside the container and returns its exit code.
	Exec func(ctx context.Context, argv []string) (code int, out []byte, err error)
	// Dial connects from inside the pod's network namespace.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Paused, if set and true, skips attempts (the node is lost): the
	// thresholds neither advance nor reset.
	Paused func() bool
}

// Do runs one probe attempt; ok is the verdict, msg explains a failure.
func Do(ctx context.Context, p *v1.Probe, t Target) (ok bool, msg string) {
	timeout := time.Duration(p.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case p.Exec != nil:
		code, out, err := t.Exec(ctx, p.Exec.Command)
		if ctx.Err() == context.DeadlineExceeded {
			return false, fmt.Sprintf("command timed out after %s", timeout)
		}
		if err != nil {
			return false, err.Error()
		}
		if code != 0 {
			return false, fmt.Sprintf("command %q exited with %d: %s", strings.Join(p.Exec.Command, " "), code, strings.TrimSpace(string(out)))
		}
		return true, ""
	case p.TCPSocket != nil:
		port, err := resolvePort(p.TCPSocket.Port, t.Container)
		if err != nil {
			return false, err.Error()
		}
		host := p.TCPSocket.Host
		if host == "" {
			host = t.PodIP
		}
		c, err := t.Dial(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return false, fmt.Sprintf("dial tcp %s:%d: %v", host, port, err)
		}
		c.Close()
		return true, ""
	case p.HTTPGet != nil:
		return httpGet(ctx, p.HTTPGet, t)
	case p.GRPC != nil:
		return false, "grpc probes are not supported on this local node"
	}
	return false, "probe has no handler"
}

func resolvePort(port intstr.IntOrString, c *v1.Container) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == port.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(port.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("port %q not found in container ports", port.StrVal)
}

func httpGet(ctx context.Context, g *v1.HTTPGetAction, t Target) (bool, string) {
	port, err := resolvePort(g.Port, t.Container)
	if err != nil {
		return false, err.Error()
	}
	host := g.Host
	if host == "" {
		host = t.PodIP
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	url := fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, strconv.Itoa(port)), path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("User-Agent", "kube-probe/1.36")
	for _, h := range g.HTTPHeaders {
		if strings.EqualFold(h.Name, "host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	tr := &http.Transport{
		DialContext:       t.Dial,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	// Like the kubelet, follow redirects to the same host only.
	client := &http.Client{Transport: tr, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if r.URL.Hostname() != host || len(via) >= 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 10*1024))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return true, ""
	}
	return false, fmt.Sprintf("HTTP probe failed with statuscode: %d %s", resp.StatusCode, strings.TrimSpace(string(body)))
}
