package kubeletserver

import (
	"fmt"
	"strings"
)

// route is a parsed kubelet API path. The apiserver builds these paths (see
// pkg/kubelet/server in kubernetes), so the shapes must match exactly:
//
//	/exec/{ns}/{pod}/{container}          /exec/{ns}/{pod}/{uid}/{container}
//	/attach/{ns}/{pod}/{container}        /attach/{ns}/{pod}/{uid}/{container}
//	/portForward/{ns}/{pod}               /portForward/{ns}/{pod}/{uid}
//	/containerLogs/{ns}/{pod}/{container}
type route struct {
	kind      string // "exec", "attach", "portForward", "containerLogs"
	namespace string
	pod       string
	uid       string
	container string
}

func parseRoute(path string) (route, error) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 3 {
		return route{}, fmt.Errorf("no route for %q", path)
	}
	for _, p := range parts {
		if p == "" {
			return route{}, fmt.Errorf("empty path segment in %q", path)
		}
	}
	r := route{kind: parts[0], namespace: parts[1], pod: parts[2]}
	rest := parts[3:]
	switch r.kind {
	case "exec", "attach":
		switch len(rest) {
		case 1:
			r.container = rest[0]
		case 2:
			r.uid, r.container = rest[0], rest[1]
		default:
			return route{}, fmt.Errorf("no route for %q", path)
		}
	case "portForward":
		switch len(rest) {
		case 0:
		case 1:
			r.uid = rest[0]
		default:
			return route{}, fmt.Errorf("no route for %q", path)
		}
	case "containerLogs":
		if len(rest) != 1 {
			return route{}, fmt.Errorf("no route for %q", path)
		}
		r.container = rest[0]
	default:
		return route{}, fmt.Errorf("no route for %q", path)
	}
	return r, nil
}
