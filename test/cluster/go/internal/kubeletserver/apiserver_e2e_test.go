//go:build apiservere2e && rootintegration

// End-to-end check of the streaming endpoints through a real kube-apiserver,
// before (or without) a full kpg-node: registers a temporary, cordoned and
// tainted Node whose kubelet endpoint is this test's server, binds a pod to
// it, fakes its status and drives kubectl exec / logs / port-forward.
//
//	KPG_KUBECTL=/root/.cache/kpg/trial/kubectl KUBECONFIG=/work/main/.cluster/kubeconfig \
//	  go test -tags apiservere2e,rootintegration -run TestThroughAPIServer -v ./internal/kubeletserver/
package kubeletserver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"kpg.local/cluster/internal/podapi"
)

func TestThroughAPIServer(t *testing.T) {
	pkiDir := envOr("KPG_PKI", "/work/main/.cluster/pki")
	kubectl := envOr("KPG_KUBECTL", "kubectl")
	kubeconfig := envOr("KUBECONFIG", "/work/main/.cluster/kubeconfig")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nsPath, pid, echoPort := setupNetNS(t, ctx)

	logPath := filepath.Join(t.TempDir(), "0.log")
	os.WriteFile(logPath, []byte("2026-11-22T01:02:03Z stdout F line one\n2026-11-22T01:02:04Z stderr F line two\n"), 0o644)
	const ns, podName, node = "kpgtest-stream", "fake", "kpgtest-stream-node"
	lk := &fakeLookup{logPath: logPath, c: podapi.Container{Namespace: ns, Pod: podName, Name: "c",
		PID: pid, NetNS: nsPath, Env: []string{"PATH=/usr/bin:/bin"}, WorkDir: "/"}}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	go func() {
		if err := Serve(ctx, ln.Addr().String(), pkiDir+"/kubelet.crt", pkiDir+"/kubelet.key", pkiDir+"/ca.crt", lk, nil); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	bg := context.Background()
	t.Cleanup(func() {
		// No kubelet will confirm the pod's termination: force it.
		cs.CoreV1().Pods(ns).Delete(bg, podName, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		cs.CoreV1().Namespaces().Delete(bg, ns, metav1.DeleteOptions{})
		cs.CoreV1().Nodes().Delete(bg, node, metav1.DeleteOptions{})
	})
	if _, err := cs.CoreV1().Nodes().Create(bg, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node},
		Spec: corev1.NodeSpec{Unschedulable: true, Taints: []corev1.Taint{{Key: "kpgtest", Effect: corev1.TaintEffectNoSchedule}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ { // controllers touch a new node too: retry on conflicts
		n, _ := cs.CoreV1().Nodes().Get(bg, node, metav1.GetOptions{})
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: node}}
		n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
		if _, err = cs.CoreV1().Nodes().UpdateStatus(bg, n, metav1.UpdateOptions{}); err == nil {
			break
		} else if i == 10 {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cs.CoreV1().Namespaces().Create(bg, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	no := false
	var pod *corev1.Pod
	for i := 0; i < 50; i++ { // the namespace's default ServiceAccount appears asynchronously
		pod, err = cs.CoreV1().Pods(ns).Create(bg, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: podName},
			Spec: corev1.PodSpec{NodeName: node, AutomountServiceAccountToken: &no,
				Containers: []corev1.Container{{Name: "c", Image: "none"}}}}, metav1.CreateOptions{})
		if err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	lk.c.PodUID = string(pod.UID)
	now := metav1.Now()
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "c", Ready: true, Image: "none",
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}}
	if _, err := cs.CoreV1().Pods(ns).UpdateStatus(bg, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	k := func(stdin string, args ...string) (string, int) {
		cmd := exec.Command(kubectl, append([]string{"--kubeconfig", kubeconfig, "-n", ns}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return out.String(), code
	}
	if out, code := k("", "exec", podName, "--", "sh", "-c", "echo out; echo err >&2; readlink /proc/self/ns/net"); code != 0 || !strings.Contains(out, "out\n") || !strings.Contains(out, "err\n") {
		t.Errorf("exec: %d %q", code, out)
	} else {
		t.Logf("exec ok: %q", out)
	}
	if out, code := k("hi\n", "exec", "-i", podName, "--", "cat"); code != 0 || out != "hi\n" {
		t.Errorf("exec -i: %d %q", code, out)
	}
	if out, code := k("", "exec", podName, "--", "sh", "-c", "exit 3"); code != 3 {
		t.Errorf("exit code: %d %q", code, out)
	}
	// A real terminal for kubectl -t: script(1) runs it on a pty.
	ttyCmd := fmt.Sprintf("%s --kubeconfig %s -n %s exec -it %s -- sh -c 'tty; stty size; exit 5'", kubectl, kubeconfig, ns, podName)
	if out, code := runOut(exec.Command("script", "-qec", ttyCmd, "/dev/null")); code != 5 || !strings.Contains(out, "/dev/pts/") {
		t.Errorf("exec -it: %d %q", code, out)
	} else {
		t.Logf("exec -it ok: %q", out)
	}
	if out, code := k("", "logs", podName); code != 0 || out != "line one\nline two\n" {
		t.Errorf("logs: %d %q", code, out)
	}
	if out, code := k("", "logs", "--tail=1", "--timestamps", podName); code != 0 || out != "2026-11-22T01:02:04.000000000Z line two\n" {
		t.Errorf("logs --tail: %d %q", code, out)
	}
	// Port-forward: local port -> pod loopback echo server.
	lp := freePort(t)
	pf := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "-n", ns, "port-forward", "pod/"+podName, fmt.Sprintf("%d:%d", lp, echoPort))
	pf.Stdout, pf.Stderr = os.Stderr, os.Stderr
	if err := pf.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { pf.Process.Kill(); pf.Wait() }()
	var got []byte
	for i := 0; i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", lp))
		if err != nil {
			continue
		}
		fmt.Fprintf(c, "through the apiserver\n")
		c.(*net.TCPConn).CloseWrite()
		got, _ = io.ReadAll(c)
		c.Close()
		break
	}
	if string(got) != "through the apiserver\n" {
		t.Errorf("port-forward got %q", got)
	}
}

func runOut(cmd *exec.Cmd) (string, int) {
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	return string(out), 0
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
