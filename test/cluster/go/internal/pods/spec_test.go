package pods

import (
	"reflect"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"kpg.local/cluster/internal/images"
	"kpg.local/cluster/internal/shim"
)

func i64(v int64) *int64 { return &v }

func TestUser(t *testing.T) {
	pg := &images.Image{Kind: images.KindPostgres, UID: 999, GID: 999}
	kc := &images.Image{Kind: images.KindKubectl}
	pod := &v1.Pod{}
	if u, g, gs, _ := user(pod, &v1.Container{}, pg); u != 999 || g != 999 || gs != nil {
		t.Errorf("postgres default: %d %d %v", u, g, gs)
	}
	pod.Spec.SecurityContext = &v1.PodSecurityContext{RunAsUser: i64(1000), FSGroup: i64(2000), SupplementalGroups: []int64{3000}}
	if u, g, gs, _ := user(pod, &v1.Container{}, pg); u != 1000 || g != 0 || !reflect.DeepEqual(gs, []int64{2000, 3000}) {
		t.Errorf("pod context: %d %d %v", u, g, gs)
	}
	c := &v1.Container{SecurityContext: &v1.SecurityContext{RunAsUser: i64(26), RunAsGroup: i64(26)}}
	if u, g, _, _ := user(pod, c, pg); u != 26 || g != 26 {
		t.Errorf("container wins: %d %d", u, g)
	}
	yes := true
	pod.Spec.SecurityContext = &v1.PodSecurityContext{RunAsNonRoot: &yes}
	if _, _, _, err := user(pod, &v1.Container{}, kc); err == nil || !strings.Contains(err.Error(), "runAsNonRoot") {
		t.Errorf("runAsNonRoot as root must fail, got %v", err)
	}
}

func TestCommandLine(t *testing.T) {
	pg := &images.Image{Cmd: []string{"postgres"}}
	kc := &images.Image{Entrypoint: []string{"kubectl"}}
	env := map[string]string{"PORT": "5433"}
	cases := []struct {
		c    v1.Container
		img  *images.Image
		want []string
	}{
		{v1.Container{}, pg, []string{"postgres"}},
		{v1.Container{Args: []string{"get", "pods"}}, kc, []string{"kubectl", "get", "pods"}},
		{v1.Container{Command: []string{"postgres"}, Args: []string{"-p", "$(PORT)", "$$(PORT)"}}, pg, []string{"postgres", "-p", "5433", "$(PORT)"}},
		{v1.Container{Args: []string{"-c", "x"}}, pg, []string{"-c", "x"}},
	}
	for _, tc := range cases {
		if got := commandLine(&tc.c, tc.img, env); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v: got %v want %v", tc.c, got, tc.want)
		}
	}
}

func TestEnterArgs(t *testing.T) {
	got := strings.Join(EnterArgs(42, 999, 999, []uint32{999, 5}, "/", []string{"pg_isready"}), " ")
	want := "-t 42 -n -m -u -p --wdns=/ -- /usr/bin/setpriv --reuid 999 --regid 999 --groups 999,5 -- pg_isready"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := strings.Join(EnterArgs(7, 0, 0, nil, "/w", []string{"sh"}), " "); got != "-t 7 -n -m -u -p --wdns=/w -- sh" {
		t.Errorf("root: %s", got)
	}
}

func TestPhase(t *testing.T) {
	mk := func(policy v1.RestartPolicy, states ...v1.ContainerState) *worker {
		w := &worker{pod: &v1.Pod{Spec: v1.PodSpec{RestartPolicy: policy}}, initialized: true}
		for _, s := range states {
			w.ctrs = append(w.ctrs, &ctr{w: w, spec: &v1.Container{}, state: s})
		}
		return w
	}
	run := v1.ContainerState{Running: &v1.ContainerStateRunning{}}
	ok := v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 0}}
	bad := v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 1}}
	wait := v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "ContainerCreating"}}
	cases := []struct {
		w    *worker
		want v1.PodPhase
	}{
		{mk(v1.RestartPolicyAlways, run, run), v1.PodRunning},
		{mk(v1.RestartPolicyAlways, run, wait), v1.PodPending},
		{mk(v1.RestartPolicyNever, ok, ok), v1.PodSucceeded},
		{mk(v1.RestartPolicyNever, ok, bad), v1.PodFailed},
		{mk(v1.RestartPolicyOnFailure, ok, bad), v1.PodRunning},
		{mk(v1.RestartPolicyAlways, bad, run), v1.PodRunning},
	}
	for i, tc := range cases {
		if got := tc.w.phaseLocked(); got != tc.want {
			t.Errorf("case %d: %s, want %s", i, got, tc.want)
		}
	}
	w := mk(v1.RestartPolicyAlways, run)
	w.initialized = false
	if w.phaseLocked() != v1.PodPending {
		t.Error("uninitialized pod must be Pending")
	}
}

func TestFileMounts(t *testing.T) {
	got := fileMounts([]images.File{
		{Path: "/usr/local/bin/versitygw", Source: "/c/bin/versitygw"},
		{Path: "/opt/x/tool", Source: "/h/tool"},
		{Path: "/usr/local/bin/other", Source: "/h/other"},
	})
	want := []shim.Mount{
		{Type: "tmpfs", Target: "/opt/x", Mode: 0o755},
		{Type: "bind", Source: "/h/tool", Target: "/opt/x/tool", ReadOnly: true},
		{Type: "tmpfs", Target: "/usr/local/bin", Mode: 0o755},
		{Type: "bind", Source: "/c/bin/versitygw", Target: "/usr/local/bin/versitygw", ReadOnly: true},
		{Type: "bind", Source: "/h/other", Target: "/usr/local/bin/other", ReadOnly: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if fileMounts(nil) != nil {
		t.Error("no files, no mounts")
	}
}
