package images

import (
	"errors"
	"os"
	"os/exec"
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
		"registry.example/library/postgres:15.4-bookworm": {"registry.example/library/postgres", "15.4-bookworm"},
		"localhost:5000/postgres":                         {"localhost:5000/postgres", ""},
		"postgres@sha256:abc":                             {"postgres", ""},
		"postgres:16@sha256:abc":                          {"postgres", "16"},
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
	for _, ref := range []string{"postgres:15", "registry.example/library/postgres:15.4-bookworm", "kubedb/postgres:15"} {
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
	for _, ref := range []string{"node:20", "node:20-slim", "node:20.11.1-bookworm-slim", "registry.example/library/node:20-alpine", "mirror.example:5000/library/node:20"} {
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

func fakeFile(t *testing.T, name string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestMinor(t *testing.T) {
	for v, want := range map[string]string{"1.60": "1.60", "1.60.1": "1.60", "v1.8.0": "1.8", "1.60.1-DEV": "1.60", "v1.8": "1.8"} {
		if got, ok := minor(v); !ok || got != want {
			t.Errorf("minor(%q) = %q %v, want %q", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "latest", "1", "v1", "1.60.1.2", "1.x", "beta", "1..2"} {
		if got, ok := minor(v); ok {
			t.Errorf("minor(%q) = %q, want refused", v, got)
		}
	}
}

func TestResolveVersitygw(t *testing.T) {
	bin := fakeFile(t, "versitygw")
	r := Resolver{PGRoot: fakeRoot(t, "15"), VersitygwBin: bin, VersitygwVersion: "v1.8.0"}
	for _, ref := range []string{"versity/versitygw:v1.8.0", "versity/versitygw:1.8.0", "registry.example/versity/versitygw:v1.8.1", "versity/versitygw:v1.8", "versity/versitygw:v1.8.0@sha256:abc"} {
		img, err := r.Resolve(ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if img.Kind != KindVersitygw || img.UID != 0 || img.UserName != "root" || len(img.Cmd) != 0 {
			t.Errorf("%s: %+v", ref, img)
		}
		if want := []File{{Path: "/usr/local/bin/versitygw", Source: bin}}; len(img.Files) != 1 || img.Files[0] != want[0] {
			t.Errorf("%s: files %+v", ref, img.Files)
		}
		if len(img.Entrypoint) != 4 || img.Entrypoint[0] != "/bin/sh" || img.Entrypoint[3] != "/usr/local/bin/docker-entrypoint.sh" {
			t.Errorf("%s: entrypoint %q", ref, img.Entrypoint)
		}
		if contains(img.Hide, "/usr/local/bin") {
			t.Errorf("%s hides its own /usr/local/bin", ref)
		}
	}
	cases := map[string]string{
		"versity/versitygw:v9.9.9":  "versitygw v9.9.9 is not available on this local node (versity/versitygw:v1.8.0 runs here)",
		"versity/versitygw:v1.7.0":  "versitygw v1.7.0 is not available",
		"versity/versitygw:latest":  `tag "latest" names no versitygw version; use an explicit one (versity/versitygw:v1.8.0 runs here)`,
		"versity/versitygw":         `tag "latest" names no versitygw version`,
		"versity/versitygw:v1":      "names no versitygw version",
		"versity/versitygw:nightly": "names no versitygw version",
	}
	for ref, want := range cases {
		_, err := r.Resolve(ref)
		var pe *PullError
		if !errors.As(err, &pe) || !strings.Contains(pe.Msg, want) {
			t.Errorf("%s: got %v, want %q", ref, err, want)
		}
	}
	for _, r := range []Resolver{
		{PGRoot: fakeRoot(t)},
		{PGRoot: fakeRoot(t), VersitygwBin: bin},
		{PGRoot: fakeRoot(t), VersitygwBin: filepath.Join(t.TempDir(), "gone"), VersitygwVersion: "v1.8.0"},
	} {
		_, err := r.Resolve("versity/versitygw:v1.8.0")
		var pe *PullError
		if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "versitygw is not built on this local node") {
			t.Errorf("%+v: got %v", r, err)
		}
	}
}

// The image's entrypoint script, run by the host's sh against a stand-in
// versitygw that prints its arguments.
func TestVersitygwEntrypoint(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "versitygw")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho \"$*\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	img, err := Resolver{VersitygwBin: bin, VersitygwVersion: "v1.8.0"}.Resolve("versity/versitygw:v1.8.0")
	if err != nil {
		t.Fatal(err)
	}
	run := func(env []string, args ...string) (string, error) {
		argv := append(append([]string{}, img.Entrypoint...), args...)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append([]string{"PATH=" + hostPath, "VGW_BINARY=" + bin}, env...)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := run(nil, "--port", ":9000", "posix", "/data"); err != nil || out != "--port :9000 posix /data" {
		t.Errorf("arguments: %q %v", out, err)
	}
	if out, err := run(nil); err == nil || !strings.Contains(out, "give the versitygw container its arguments") {
		t.Errorf("no arguments: %q %v", out, err)
	}
}

func TestResolveRclone(t *testing.T) {
	r := Resolver{PGRoot: fakeRoot(t, "15"), RcloneBin: "/usr/bin/rclone", RcloneVersion: "1.60.1"}
	for _, ref := range []string{"rclone/rclone:1.60.1", "rclone/rclone:1.60", "registry.example/rclone/rclone:1.60.3", "rclone/rclone:v1.60.1"} {
		img, err := r.Resolve(ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if img.Kind != KindRclone || img.UID != 0 || len(img.Entrypoint) != 1 || img.Entrypoint[0] != "rclone" || len(img.Cmd) != 0 {
			t.Errorf("%s: %+v", ref, img)
		}
		if !contains(img.Env, "XDG_CONFIG_HOME=/config") {
			t.Errorf("%s: env %q", ref, img.Env)
		}
		if len(img.Files) != 1 || img.Files[0] != (File{Path: "/usr/local/bin/rclone", Source: "/usr/bin/rclone"}) {
			t.Errorf("%s: files %+v", ref, img.Files)
		}
	}
	cases := map[string]string{
		"rclone/rclone:9.9":    "rclone 9.9 is not installed on this local node (rclone/rclone:1.60 runs here, rclone 1.60.1)",
		"rclone/rclone:1.61.0": "rclone 1.61.0 is not installed",
		"rclone/rclone:latest": `tag "latest" names no rclone version; use an explicit one (rclone/rclone:1.60 runs here`,
		"rclone/rclone":        "names no rclone version",
		"rclone/rclone:1":      "names no rclone version",
		"rclone/rclone:beta":   "names no rclone version",
	}
	for ref, want := range cases {
		_, err := r.Resolve(ref)
		var pe *PullError
		if !errors.As(err, &pe) || !strings.Contains(pe.Msg, want) {
			t.Errorf("%s: got %v, want %q", ref, err, want)
		}
	}
	if _, err := (Resolver{PGRoot: fakeRoot(t)}).Resolve("rclone/rclone:1.60"); err == nil || !strings.Contains(err.Error(), "no rclone") {
		t.Errorf("a host without rclone must refuse rclone images, got %v", err)
	}
}

func TestVersitygwHost(t *testing.T) {
	if got := (Resolver{VersitygwBin: "/work/x/.cluster/bin/versitygw"}).versitygwHost(); len(got) != 1 || got[0] != "/work/x/.cluster/bin/versitygw" {
		t.Errorf("got %v", got)
	}
	// A container's /tmp is its own: nothing to hide there.
	if got := (Resolver{VersitygwBin: "/tmp/clone/.cluster/bin/versitygw"}).versitygwHost(); got != nil {
		t.Errorf("under /tmp: %v", got)
	}
	if got := (Resolver{}).versitygwHost(); got != nil {
		t.Errorf("none: %v", got)
	}
}

// Which image sees which of the host's programs: rclone only in
// rclone/rclone, versitygw only in versity/versitygw (at /usr/local/bin,
// the host's copies hidden everywhere), PostgreSQL only in postgres, Node.js
// only in node. Host paths that do not exist here cannot be hidden and are
// skipped.
func TestWhoSeesWhat(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	// Any existing file outside /tmp stands in for .cluster/bin/versitygw.
	vgw := filepath.Join(wd, "images.go")
	r := Resolver{PGRoot: fakeRoot(t, "15"), KubectlDir: "/k/bin", NodeBin: "/usr/bin/node", NodeVersion: "20.1.0",
		VersitygwBin: vgw, VersitygwVersion: "v1.8.0", RcloneBin: "/usr/bin/rclone", RcloneVersion: "1.60.1"}
	imgs := map[string]*Image{}
	for _, ref := range []string{"postgres:15", "node:20", "kubectl:v1.36.3", "versity/versitygw:v1.8.0", "rclone/rclone:1.60"} {
		img, err := r.Resolve(ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		imgs[img.Kind] = img
	}
	exists := func(p string) bool { _, err := os.Lstat(p); return err == nil }
	pgTools := existing(postgresTools())
	for kind, img := range imgs {
		if !strings.HasPrefix(wd, "/tmp/") && !contains(img.Hide, vgw) {
			t.Errorf("%s does not hide the host's versitygw", kind)
		}
		if kind == KindKubectl {
			continue // the kubectl image hides nothing else
		}
		if exists("/usr/bin/rclone") && !contains(img.Hide, "/usr/bin/rclone") {
			t.Errorf("%s sees /usr/bin/rclone", kind)
		}
		for _, p := range pgTools {
			if kind != KindPostgres && !contains(img.Hide, p) {
				t.Errorf("%s sees %s", kind, p)
			}
		}
		for _, p := range nodeTools {
			if kind != KindNode && exists(p) && !contains(img.Hide, p) {
				t.Errorf("%s sees %s", kind, p)
			}
		}
		for _, p := range []string{"/usr/local/go", "/usr/bin/docker", "/usr/bin/go"} {
			if exists(p) && !contains(img.Hide, p) {
				t.Errorf("%s sees %s", kind, p)
			}
		}
		own := kind == KindVersitygw || kind == KindRclone
		if exists("/usr/local/bin") && own == contains(img.Hide, "/usr/local/bin") {
			t.Errorf("%s: /usr/local/bin hidden %v, want %v (own programs there: %v)", kind, !own, own, own)
		}
		for _, h := range img.Hide {
			if h == "/bin" || h == "/usr/bin" || strings.HasSuffix(h, "/sh") || strings.HasSuffix(h, "/tar") || strings.HasSuffix(h, "/gzip") {
				t.Errorf("%s hides %s, which the real (busybox or Debian) image has", kind, h)
			}
		}
	}
	if f := imgs[KindRclone].Files; len(f) != 1 || f[0].Source != "/usr/bin/rclone" {
		t.Errorf("rclone files %+v", f)
	}
	if f := imgs[KindVersitygw].Files; len(f) != 1 || f[0].Source != vgw {
		t.Errorf("versitygw files %+v", f)
	}
	for _, kind := range []string{KindPostgres, KindNode, KindKubectl} {
		if len(imgs[kind].Files) != 0 {
			t.Errorf("%s has files %+v", kind, imgs[kind].Files)
		}
	}
}

func TestWithVersitygw(t *testing.T) {
	// Not a Go binary: the path is kept, the version stays unknown (refused).
	bin := fakeFile(t, "versitygw")
	if r := WithVersitygw(Resolver{}, bin); r.VersitygwBin != bin || r.VersitygwVersion != "" {
		t.Errorf("%+v", r)
	}
	// A Go binary that is not versitygw: the test binary itself.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if r := WithVersitygw(Resolver{}, self); r.VersitygwVersion != "" {
		t.Errorf("test binary taken for versitygw %s", r.VersitygwVersion)
	}
}

// The versitygw that build.sh built, when there is one: its build info names
// the version test/cluster/s3/go.mod pins.
func TestWithVersitygwBuilt(t *testing.T) {
	bin, _ := filepath.Abs("../../../../../.cluster/bin/versitygw")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("not built: %v", err)
	}
	gomod, err := os.ReadFile("../../../s3/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	var pinned string
	for _, l := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == VersitygwModule {
			pinned = f[1]
		}
	}
	r := WithVersitygw(Resolver{}, bin)
	if pinned == "" || r.VersitygwVersion != pinned {
		t.Errorf("built from %q, go.mod pins %q", r.VersitygwVersion, pinned)
	}
}

func TestWithHostRclone(t *testing.T) {
	if _, err := exec.LookPath("rclone"); err != nil {
		t.Skip("no rclone on this host")
	}
	r := WithHostRclone(Resolver{})
	if r.RcloneBin == "" {
		t.Fatal("rclone not found")
	}
	if _, ok := minor(r.RcloneVersion); !ok || strings.Contains(r.RcloneVersion, "-") {
		t.Errorf("version %q", r.RcloneVersion)
	}
}
