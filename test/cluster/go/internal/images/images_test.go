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
