// Package kubeletserver is the node's HTTPS endpoint that the kube-apiserver
// calls for kubectl exec, attach, port-forward and logs. The streaming
// protocols (SPDY and WebSocket, all versions) come from the same library
// the real kubelet's CRI streaming server uses, so kubectl behaves exactly
// as against a real node.
package kubeletserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"

	"kpg.local/cluster/internal/podapi"
)

// Timeouts as the kubelet's defaults (streamingConnectionIdleTimeout, and
// the CRI streaming server's stream creation timeout).
const (
	streamIdleTimeout     = 4 * time.Hour
	streamCreationTimeout = remotecommand.DefaultStreamCreationTimeout
)

// Serve runs the kubelet API on addr until ctx is done. Every endpoint but
// /healthz requires a client certificate signed by clientCA (the apiserver's
// --kubelet-client-certificate). While down says so, connections stall
// (fault injection: a lost node).
func Serve(ctx context.Context, addr string, tlsCert, tlsKey, clientCA string, lk podapi.Lookup, down Down) error {
	cert, err := tls.LoadX509KeyPair(tlsCert, tlsKey)
	if err != nil {
		return fmt.Errorf("kubelet server cert: %w", err)
	}
	caPEM, err := os.ReadFile(clientCA)
	if err != nil {
		return fmt.Errorf("kubelet client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("no certificates in %s", clientCA)
	}
	tcp, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ln := gatedListener{Listener: tcp, down: down}
	srv := &http.Server{
		Handler: newHandler(lk),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientCAs:    pool,
			// Verified when given; requireClientCert enforces it per path so
			// /healthz stays usable for plain probes.
			ClientAuth: tls.VerifyClientCertIfGiven,
			MinVersion: tls.VersionTLS12,
			// SPDY upgrades need HTTP/1.1; never negotiate h2.
			NextProtos: []string{"http/1.1"},
		},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(os.Stderr, "kubeletserver: ", log.LstdFlags),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(tls.NewListener(ln, srv.TLSConfig)) }()
	select {
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(shutdownCtx)
		srv.Close() // hijacked streams are not covered by Shutdown
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

type handler struct {
	lk podapi.Lookup
	// requireClientCert is off only in tests that serve plain HTTP.
	requireClientCert bool
}

func newHandler(lk podapi.Lookup) http.Handler { return &handler{lk: lk, requireClientCert: true} }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		w.Write([]byte("ok"))
		return
	}
	if h.requireClientCert && (r.TLS == nil || len(r.TLS.VerifiedChains) == 0) {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	rt, err := parseRoute(r.URL.Path)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	switch rt.kind {
	case "exec", "attach":
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.serveRemoteCommand(w, r, rt)
	case "portForward":
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.servePortForward(w, r, rt)
	case "containerLogs":
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.serveLogs(w, r, rt)
	}
}

// container resolves a route to a running container, answering the HTTP
// error itself (before any upgrade, so kubectl shows the message).
func (h *handler) container(w http.ResponseWriter, rt route) (podapi.Container, bool) {
	name := rt.container
	if name == "" {
		n, err := h.lk.DefaultContainer(rt.namespace, rt.pod)
		if err != nil {
			http.Error(w, fmt.Sprintf("pod %q does not exist", rt.pod), http.StatusNotFound)
			return podapi.Container{}, false
		}
		name = n
	}
	c, err := h.lk.Container(rt.namespace, rt.pod, name)
	switch {
	case errors.Is(err, podapi.ErrNotRunning):
		http.Error(w, fmt.Sprintf("container %q in pod %q is not running", name, rt.pod), http.StatusBadRequest)
		return c, false
	case err != nil:
		if _, perr := h.lk.DefaultContainer(rt.namespace, rt.pod); perr != nil {
			http.Error(w, fmt.Sprintf("pod %q does not exist", rt.pod), http.StatusNotFound)
		} else {
			http.Error(w, fmt.Sprintf("container %q not found in pod %q", name, rt.pod), http.StatusNotFound)
		}
		return c, false
	case rt.uid != "" && c.PodUID != "" && rt.uid != c.PodUID:
		http.Error(w, "pod not found", http.StatusNotFound)
		return c, false
	}
	return c, true
}

func (h *handler) serveRemoteCommand(w http.ResponseWriter, r *http.Request, rt route) {
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c, ok := h.container(w, rt)
	if !ok {
		return
	}
	if rt.kind == "attach" {
		remotecommand.ServeAttach(w, r, attacher{c: c, lk: h.lk}, rt.pod, rt.uid, rt.container, opts,
			streamIdleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
		return
	}
	remotecommand.ServeExec(w, r, executor{c: c}, rt.pod, rt.uid, rt.container, r.URL.Query()["command"], opts,
		streamIdleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

func (h *handler) servePortForward(w http.ResponseWriter, r *http.Request, rt route) {
	opts, err := portforward.NewV4Options(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c, ok := h.container(w, rt)
	if !ok {
		return
	}
	portforward.ServePortForward(w, r, forwarder{c: c}, rt.pod, rt.uid, opts,
		streamIdleTimeout, streamCreationTimeout, portforward.SupportedProtocols)
}

func (h *handler) serveLogs(w http.ResponseWriter, r *http.Request, rt route) {
	o, err := parseLogOptions(r.URL.Query(), time.Now())
	if err != nil {
		http.Error(w, fmt.Sprintf(`{"message": "Invalid request: %v"}`, err), http.StatusBadRequest)
		return
	}
	if _, err := h.lk.DefaultContainer(rt.namespace, rt.pod); err != nil {
		http.Error(w, fmt.Sprintf("pod %q does not exist", rt.pod), http.StatusNotFound)
		return
	}
	// Status codes as the kubelet's: 404 for an unknown pod or container,
	// 400 (shown verbatim by kubectl) when it has no such instance.
	path, err := h.lk.LogPath(rt.namespace, rt.pod, rt.container, o.Previous)
	switch {
	case err == nil && path != "":
	case o.Previous:
		http.Error(w, fmt.Sprintf("previous terminated container %q in pod %q not found", rt.container, rt.pod), http.StatusBadRequest)
		return
	case errors.Is(err, podapi.ErrNotFound):
		http.Error(w, fmt.Sprintf("container %q not found in pod %q", rt.container, rt.pod), http.StatusNotFound)
		return
	default:
		http.Error(w, fmt.Sprintf("container %q in pod %q is waiting to start", rt.container, rt.pod), http.StatusBadRequest)
		return
	}
	running := func() bool { return false }
	if o.Follow && !o.Previous {
		running = h.instanceRunning(rt, path)
	}
	f, err := os.Open(path)
	if err != nil {
		http.Error(w, fmt.Sprintf("failed to open log file for container %q in pod %q: %v", rt.container, rt.pod, err), http.StatusBadRequest)
		return
	}
	f.Close()
	w.Header().Set("Content-Type", "text/plain")
	flusher, _ := w.(http.Flusher)
	flush := func() {
		if flusher != nil {
			flusher.Flush()
		}
	}
	w.WriteHeader(http.StatusOK)
	flush()
	stdout, stderr := streams(w, o)
	if err := streamLog(r.Context(), path, o, stdout, stderr, flush, running); err != nil {
		log.Printf("kubeletserver: logs %s/%s/%s: %v", rt.namespace, rt.pod, rt.container, err)
	}
}

// instanceRunning reports whether the container instance that writes path is
// still the running one: a restart (new PID or new log file) ends a follow,
// as with the real kubelet.
func (h *handler) instanceRunning(rt route, path string) func() bool {
	c0, err := h.lk.Container(rt.namespace, rt.pod, rt.container)
	if err != nil {
		return func() bool { return false }
	}
	return func() bool {
		c, err := h.lk.Container(rt.namespace, rt.pod, rt.container)
		if err != nil || c.PID != c0.PID {
			return false
		}
		p, err := h.lk.LogPath(rt.namespace, rt.pod, rt.container, false)
		return err == nil && p == path
	}
}

// streams maps the requested log streams onto one response body.
func streams(w io.Writer, o logOptions) (stdout, stderr io.Writer) {
	if o.Stdout {
		stdout = w
	}
	if o.Stderr {
		stderr = w
	}
	return stdout, stderr
}
