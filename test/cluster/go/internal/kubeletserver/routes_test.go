package kubeletserver

import "testing"

func TestParseRoute(t *testing.T) {
	tests := []struct {
		path string
		want route
		err  bool
	}{
		{path: "/exec/default/web/app", want: route{kind: "exec", namespace: "default", pod: "web", container: "app"}},
		{path: "/exec/default/web/1234-uid/app", want: route{kind: "exec", namespace: "default", pod: "web", uid: "1234-uid", container: "app"}},
		{path: "/attach/ns/p/c", want: route{kind: "attach", namespace: "ns", pod: "p", container: "c"}},
		{path: "/attach/ns/p/u/c", want: route{kind: "attach", namespace: "ns", pod: "p", uid: "u", container: "c"}},
		{path: "/portForward/ns/p", want: route{kind: "portForward", namespace: "ns", pod: "p"}},
		{path: "/portForward/ns/p/u", want: route{kind: "portForward", namespace: "ns", pod: "p", uid: "u"}},
		{path: "/containerLogs/ns/p/c", want: route{kind: "containerLogs", namespace: "ns", pod: "p", container: "c"}},
		{path: "/containerLogs/ns/p/u/c", err: true},
		{path: "/exec/ns/p", err: true},
		{path: "/exec/ns/p/a/b/c", err: true},
		{path: "/exec/ns//c", err: true},
		{path: "/portForward/ns/p/u/x", err: true},
		{path: "/run/ns/p/c", err: true},
		{path: "/healthz", err: true},
	}
	for _, tt := range tests {
		got, err := parseRoute(tt.path)
		if (err != nil) != tt.err {
			t.Errorf("%s: err=%v, want err=%v", tt.path, err, tt.err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.path, got, tt.want)
		}
	}
}
