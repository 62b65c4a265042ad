package images

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fakeRoot(t *testing.T, majors ...string) string {
	root := t.TempDir()
	for _, m := range majors {
		bin := filepath.Join(root, m, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bin, "postgres"), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestParts(t *testing.T) {
	cases := map[string][2]string{
		"postgres:15": {"postgres", "15"},
		"docker.io/library/postgres:15.4-bookworm": {"docker.io/library/postgres", "15.4-bookworm"},
		"localhost:5000/postgres":                  {"localhost:5000/postgres", ""},
		"postgres@sha256:abc":                      {"postgres", ""},
		"postgres:16@sha256:abc":                   {"postgres", "16"},
	}
	for in, want := range cases {
		r, tag := Parts(in)
		if r != want[0] || tag != want[1] {
			t.Errorf("Parts(%q) = %q %q, want %q", in, r, tag, want)
		}
	}
}

func TestMajor(t *testing.T) {
	for tag, want := range map[string]string{"15": "15", "15.4-bookworm": "15", "9.6": "9.6", "9.6.24-alpine": "9.6", "alpine": "", "": "", "16-alpine3.19": "16"} {
		if got := Major(tag); got != want {
			t.Errorf("Major(%q) = %q, want %q", tag, got, want)
		}
	}
}

func TestResolvePostgres(t *testing.T) {
	r := Resolver{PGRoot: fakeRoot(t, "15"), KubectlDir: "/k/bin"}
	for _, ref := range []string{"postgres:15", "docker.io/library/postgres:15.4-bookworm", "kubedb/postgres:15"} {
		img, err := r.Resolve(ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if img.Kind != KindPostgres || img.PGMajor != "15" || img.UID != 999 {
			t.Errorf("%s: %+v", ref, img)
		}
		if !strings.HasPrefix(img.Env[0], "PATH="+filepath.Join(r.PGRoot, "15", "bin")+":") {
			t.Errorf("%s: PATH %q", ref, img.Env[0])
		}
	}
}

func TestResolveMissing(t *testing.T) {
	r := Resolver{PGRoot: fakeRoot(t, "15")}
	cases := map[string]string{
		"postgres:9.6":   "postgres 9.6 is not installed on this local node (installed: 15)",
		"postgres":       "names no PostgreSQL major",
		"nginx:1.25":     "not available on this local node",
		"postgres-ha:15": "not available",
	}
	for ref, want := range cases {
		_, err := r.Resolve(ref)
		var pe *PullError
		if !errors.As(err, &pe) || !strings.Contains(pe.Msg, want) {
			t.Errorf("%s: got %v, want %q", ref, err, want)
		}
	}
}

func TestResolveKubectl(t *testing.T) {
	r := Resolver{PGRoot: fakeRoot(t), KubectlDir: "/k/bin"}
	for _, ref := range []string{"registry.k8s.io/kubectl:v1.36.3", "bitnami/kubectl:1.36"} {
		img, err := r.Resolve(ref)
		if err != nil {
			t.Fatal(err)
		}
		if img.Kind != KindKubectl || !strings.HasPrefix(img.Env[0], "PATH=/k/bin:") || img.Entrypoint[0] != "kubectl" {
			t.Errorf("%s: %+v", ref, img)
		}
	}
}

func TestResolveNode(t *testing.T) {
	r := Resolver{PGRoot: fakeRoot(t, "15"), NodeBin: "/usr/bin/node", NodeVersion: "20.20.2"}
	for _, ref := range []string{"node:20", "node:20-slim", "node:20.11.1-bookworm-slim", "docker.io/library/node:20-alpine", "mirror.example:5000/library/node:20"} {
		img, err := r.Resolve(ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if img.Kind != KindNode || img.Cmd[0] != "node" || img.UID != 0 {
			t.Errorf("%s: %+v", ref, img)
		}
	}
	cases := map[string]string{
		"node:18":      "node 18 is not installed on this local node (node:20 runs here",
		"node:22-slim": "node 22 is not installed",
		"node:lts":     "names no Node.js major",
		"node":         "names no Node.js major",
	}
	for ref, want := range cases {
		_, err := r.Resolve(ref)
		var pe *PullError
		if !errors.As(err, &pe) || !strings.Contains(pe.Msg, want) {
			t.Errorf("%s: got %v, want %q", ref, err, want)
		}
	}
	if _, err := (Resolver{PGRoot: fakeRoot(t)}).Resolve("node:20"); err == nil {
		t.Error("a host without Node.js must refuse node images")
	}
}

func TestHiddenTools(t *testing.T) {
	if got := existing([]string{"/nonexistent/kpg-tool", os.TempDir()}); len(got) != 1 || got[0] != os.TempDir() {
		t.Errorf("existing: %v", got)
	}
	r := Resolver{PGRoot: fakeRoot(t, "15"), NodeBin: "/usr/bin/node", NodeVersion: "20.1.0"}
	pg, _ := r.Resolve("postgres:15")
	node, _ := r.Resolve("node:20")
	for _, h := range pg.Hide {
		if strings.Contains(h, "postgresql") {
			t.Errorf("postgres image hides its own %s", h)
		}
	}
	for _, h := range node.Hide {
		if strings.Contains(h, "node") {
			t.Errorf("node image hides its own %s", h)
		}
	}
}
