//go:build rootintegration

// Root-only end-to-end test of exec, port-forward and logs against a real
// network+mount namespace. Run: go test -tags rootintegration ./internal/kubeletserver/
package kubeletserver

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	utilexec "k8s.io/utils/exec"

	"kpg.local/cluster/internal/podapi"
	"kpg.local/cluster/internal/relay"
)

type fakeLookup struct {
	c       podapi.Container
	logPath string
}

func (f *fakeLookup) Container(ns, pod, ctr string) (podapi.Container, error) {
	if ns != f.c.Namespace || pod != f.c.Pod || ctr != f.c.Name {
		return podapi.Container{}, podapi.ErrNotFound
	}
	return f.c, nil
}
func (f *fakeLookup) LogPath(ns, pod, ctr string, previous bool) (string, error) {
	if _, err := f.Container(ns, pod, ctr); err != nil || previous {
		return "", podapi.ErrNotFound
	}
	return f.logPath, nil
}
func (f *fakeLookup) DefaultContainer(ns, pod string) (string, error) {
	if ns != f.c.Namespace || pod != f.c.Pod {
		return "", podapi.ErrNotFound
	}
	return f.c.Name, nil
}

type pki struct {
	dir                   string
	ca, cert, key         string
	clientCert, clientKey string
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newPKI(t *testing.T) pki {
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	p := pki{dir: dir, ca: filepath.Join(dir, "ca.crt"), cert: filepath.Join(dir, "srv.crt"), key: filepath.Join(dir, "srv.key"),
		clientCert: filepath.Join(dir, "cli.crt"), clientKey: filepath.Join(dir, "cli.key")}
	writePEM(t, p.ca, "CERTIFICATE", caDER)
	for i, spec := range []struct {
		cert, key string
		usage     x509.ExtKeyUsage
	}{{p.cert, p.key, x509.ExtKeyUsageServerAuth}, {p.clientCert, p.clientKey, x509.ExtKeyUsageClientAuth}} {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: "kube-apiserver-kubelet-client"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{spec.usage},
			KeyUsage: x509.KeyUsageDigitalSignature, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, spec.cert, "CERTIFICATE", der)
		kd, _ := x509.MarshalECPrivateKey(k)
		writePEM(t, spec.key, "EC PRIVATE KEY", kd)
	}
	return p
}

// setupNetNS creates a netns with a long-running process (own net and mount
// namespace, as `ip netns exec` unshares the mount namespace) and an echo
// server on its loopback.
func setupNetNS(t *testing.T, ctx context.Context) (nsPath string, pid int, echoPort int) {
	name := fmt.Sprintf("kpgtest%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	nsPath = "/run/netns/" + name
	cmd := exec.Command("ip", "netns", "exec", name, "sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// ip execs sleep, so the PID is the container process.
	pid = cmd.Process.Pid
	time.Sleep(200 * time.Millisecond)

	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v %s", err, out)
	}
	var ln net.Listener
	err := relay.InNetNS(nsPath, func() (err error) { ln, err = net.Listen("tcp", "127.0.0.1:0"); return })
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return nsPath, pid, ln.Addr().(*net.TCPAddr).Port
}

func TestRootIntegration(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nsPath, pid, echoPort := setupNetNS(t, ctx)
	p := newPKI(t)

	logPath := filepath.Join(p.dir, "0.log")
	os.WriteFile(logPath, []byte("2026-11-22T01:02:03Z stdout F hello from log\n2026-11-22T01:02:04Z stderr F oops\n"), 0o644)
	lk := &fakeLookup{logPath: logPath, c: podapi.Container{PodUID: "uid-1", Namespace: "default", Pod: "pg-0", Name: "pg",
		PID: pid, NetNS: nsPath, UID: 65534, GID: 65534, Groups: []uint32{65534, 4242},
		Env: []string{"PATH=/usr/bin:/bin", "FOO=bar"}, WorkDir: "/tmp"}}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	go func() {
		if err := Serve(ctx, addr, p.cert, p.key, p.ca, lk, nil); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	time.Sleep(300 * time.Millisecond)
	caPEM, _ := os.ReadFile(p.ca)
	certPEM, _ := os.ReadFile(p.clientCert)
	keyPEM, _ := os.ReadFile(p.clientKey)
	cfg := &rest.Config{Host: "https://" + addr, TLSClientConfig: rest.TLSClientConfig{CAData: caPEM, CertData: certPEM, KeyData: keyPEM}}

	run := func(t *testing.T, path string, q url.Values, stdin io.Reader, tty bool) (string, string, error) {
		u, _ := url.Parse(cfg.Host + path + "?" + q.Encode())
		exe, err := remotecommand.NewSPDYExecutor(cfg, "POST", u)
		if err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		opts := remotecommand.StreamOptions{Stdin: stdin, Stdout: &out, Tty: tty}
		if !tty {
			opts.Stderr = &errb
		}
		cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
		defer ccancel()
		err = exe.StreamWithContext(cctx, opts)
		return out.String(), errb.String(), err
	}
	execQ := func(stdin, tty bool, cmd ...string) url.Values {
		q := url.Values{"command": cmd, "output": {"1"}}
		if stdin {
			q.Set("input", "1")
		}
		if tty {
			q.Set("tty", "1")
		} else {
			q.Set("error", "1")
		}
		return q
	}

	t.Run("healthz without cert, exec needs cert", func(t *testing.T) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		resp, err := c.Get(cfg.Host + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("healthz: %v %v", resp, err)
		}
		resp, err = c.Get(cfg.Host + "/containerLogs/default/pg-0/pg")
		if err != nil || resp.StatusCode != 401 {
			t.Fatalf("logs without cert: %v %v", resp.Status, err)
		}
	})
	t.Run("exec sees container namespaces, creds and env", func(t *testing.T) {
		out, errs, err := run(t, "/exec/default/pg-0/pg", execQ(false, false, "sh", "-c",
			`echo "$(id -u):$(id -g):$(id -G):$FOO:$(pwd)"; readlink /proc/self/ns/net /proc/self/ns/mnt; echo err >&2`), nil, false)
		if err != nil {
			t.Fatalf("%v (stderr %q)", err, errs)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		want, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
		wantMnt, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
		if len(lines) != 3 || lines[0] != "65534:65534:65534 4242:bar:/tmp" || lines[1] != want || lines[2] != wantMnt || errs != "err\n" {
			t.Fatalf("out %q errs %q want net %s mnt %s", out, errs, want, wantMnt)
		}
	})
	t.Run("exec stdin", func(t *testing.T) {
		out, _, err := run(t, "/exec/default/pg-0/uid-1/pg", execQ(true, false, "cat"), strings.NewReader("hi\n"), false)
		if err != nil || out != "hi\n" {
			t.Fatalf("got %q %v", out, err)
		}
	})
	t.Run("exec exit code", func(t *testing.T) {
		_, _, err := run(t, "/exec/default/pg-0/pg", execQ(false, false, "sh", "-c", "exit 3"), nil, false)
		var ee utilexec.ExitError
		if !errors.As(err, &ee) || ee.ExitStatus() != 3 {
			t.Fatalf("want exit 3, got %v", err)
		}
	})
	t.Run("exec tty", func(t *testing.T) {
		out, _, err := run(t, "/exec/default/pg-0/pg", execQ(true, true, "sh", "-c", "tty; stty size; echo $TERM"), strings.NewReader(""), true)
		t.Logf("tty output %q", out)
		if err != nil || !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "xterm") {
			t.Fatalf("got %q %v", out, err)
		}
	})
	t.Run("exec unknown container is 404 before upgrade", func(t *testing.T) {
		_, _, err := run(t, "/exec/default/pg-0/nope", execQ(false, false, "true"), nil, false)
		if err == nil || !strings.Contains(err.Error(), `container "nope" not found`) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("port-forward to pod loopback", func(t *testing.T) {
		transport, upgrader, err := spdy.RoundTripperFor(cfg)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(cfg.Host + "/portForward/default/pg-0")
		dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, "POST", u)
		stop, ready := make(chan struct{}), make(chan struct{})
		defer close(stop)
		fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", echoPort)}, stop, ready, io.Discard, os.Stderr)
		if err != nil {
			t.Fatal(err)
		}
		go fw.ForwardPorts()
		<-ready
		ports, _ := fw.GetPorts()
		for i := 0; i < 2; i++ { // two connections over one session
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ports[0].Local))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "ping %d\n", i)
			c.(*net.TCPConn).CloseWrite()
			b, _ := io.ReadAll(c)
			c.Close()
			if string(b) != fmt.Sprintf("ping %d\n", i) {
				t.Fatalf("echo got %q", b)
			}
		}
	})
	t.Run("logs", func(t *testing.T) {
		tc, _ := rest.HTTPClientFor(cfg)
		get := func(q string) (int, string) {
			resp, err := tc.Get(cfg.Host + q)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, body := get("/containerLogs/default/pg-0/pg?tailLines=1&timestamps=true"); code != 200 || body != "2026-11-22T01:02:04.000000000Z oops\n" {
			t.Fatalf("got %d %q", code, body)
		}
		if code, body := get("/containerLogs/default/nope/pg"); code != 404 || !strings.Contains(body, `pod "nope" does not exist`) {
			t.Fatalf("got %d %q", code, body)
		}
	})
	t.Run("relay", func(t *testing.T) {
		host, _ := net.Listen("tcp", "127.0.0.1:0")
		defer host.Close()
		go func() {
			for {
				c, err := host.Accept()
				if err != nil {
					return
				}
				go func() { fmt.Fprintf(c, "host says hi\n"); io.Copy(c, c); c.Close() }()
			}
		}()
		if err := relay.ListenInNetNS(ctx, nsPath, "127.0.0.1:6443", host.Addr().String()); err != nil {
			t.Fatal(err)
		}
		var c net.Conn
		if err := relay.InNetNS(nsPath, func() (err error) { c, err = net.Dial("tcp", "127.0.0.1:6443"); return }); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "echo me\n")
		c.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(c)
		if string(b) != "host says hi\necho me\n" {
			t.Fatalf("relay got %q", b)
		}
		// And the host itself has nothing on 6443 through this path.
		out, _ := exec.Command("ip", "netns", "exec", filepath.Base(nsPath), "ss", "-ltn").CombinedOutput()
		if !strings.Contains(string(out), "127.0.0.1:6443") {
			t.Fatalf("listener not in netns: %s", out)
		}
	})
}
