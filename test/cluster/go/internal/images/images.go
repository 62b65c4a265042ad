// Package images maps container image references onto what this host can
// actually run. There is no image store: a "postgres:<major>" image runs the
// host's PostgreSQL of that major, a "node:<major>" image the host's Node.js
// when its major matches, a "kubectl" image the cluster's kubectl, a
// "versity/versitygw:v1.8" image the versitygw S3 gateway that build.sh
// builds, and an "rclone/rclone:1.60" image the host's rclone when the
// minor matches. Anything else must fail loudly, like a failed pull, so
// tests never pass against a silently substituted program. The host's tools
// that another image would bring are hidden from a container (Image.Hide):
// a postgres container cannot run node, a node container cannot run psql,
// only an rclone container runs rclone.
package images

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Kinds of runnable images.
const (
	KindPostgres  = "postgres"
	KindKubectl   = "kubectl"
	KindNode      = "node"
	KindVersitygw = "versitygw"
	KindRclone    = "rclone"
)

// VersitygwModule is the Go module the versitygw binary is built from.
const VersitygwModule = "github.com/versity/versitygw"

// Image is a resolved, runnable image.
type Image struct {
	Ref     string
	Kind    string
	PGMajor string
	// ID is reported as the container status imageID.
	ID string
	// Env is the image's environment (KEY=VALUE), overridable by the pod.
	Env []string
	// Entrypoint and Cmd play the roles of the image config fields.
	Entrypoint []string
	Cmd        []string
	// UID and GID are the image's default user (USER in the Dockerfile).
	UID, GID int64
	// Home is the default user's home directory.
	Home string
	// UserName is the default user's passwd name.
	UserName string
	// Hide lists host paths (existing ones only) the real image does not
	// have: the container sees them absent (whiteouts in an overlay), so
	// neither PATH lookup, ls nor a direct exec finds them.
	Hide []string
	// Files are the image's own programs, at paths where the host has
	// nothing of theirs (the real images install them in /usr/local/bin):
	// each directory holding one becomes an empty private one (tmpfs) with
	// read-only binds of the host files, and nothing else.
	Files []File
}

// File is one program of an image: Path in the container, Source on the
// host (a symlink is followed).
type File struct{ Path, Source string }

// PullError means the image cannot be provided; the container must wait with
// ErrImagePull / ImagePullBackOff.
type PullError struct{ Msg string }

func (e *PullError) Error() string { return e.Msg }

const hostPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Parts splits an image reference into repository (without tag or digest)
// and tag ("" when absent).
func Parts(ref string) (repo, tag string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}

// Resolver knows where runnable software lives on this host.
type Resolver struct {
	// PGRoot holds one directory per installed major (/usr/lib/postgresql).
	PGRoot string
	// KubectlDir is the directory holding the kubectl binary.
	KubectlDir string
	// NodeBin is the host's node binary and NodeVersion its version
	// ("20.20.2"); empty when the host has none.
	NodeBin, NodeVersion string
	// VersitygwBin is the versitygw that build.sh builds and links as
	// .cluster/bin/versitygw, VersitygwVersion the module version it was
	// built from ("v1.8.0"); the version is empty when there is none.
	VersitygwBin, VersitygwVersion string
	// RcloneBin is the host's rclone (/usr/bin/rclone, Debian's) and
	// RcloneVersion its version ("1.60.1"); empty when the host has none.
	RcloneBin, RcloneVersion string
}

// Installed lists installed PostgreSQL majors.
func (r Resolver) Installed() []string {
	ents, _ := os.ReadDir(r.PGRoot)
	var out []string
	for _, e := range ents {
		if fi, err := os.Stat(filepath.Join(r.PGRoot, e.Name(), "bin", "postgres")); err == nil && !fi.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// Resolve maps ref to a runnable image or returns a *PullError.
func (r Resolver) Resolve(ref string) (*Image, error) {
	repo, tag := Parts(ref)
	last := repo[strings.LastIndex(repo, "/")+1:]
	switch last {
	case "postgres":
		return r.postgres(ref, tag)
	case "kubectl":
		return &Image{
			Ref: ref, Kind: KindKubectl, ID: "kpg://kubectl@" + tagOr(tag),
			Env:        []string{"PATH=" + r.KubectlDir + ":" + hostPath},
			Entrypoint: []string{"kubectl"},
			Home:       "/root", UserName: "root",
			Hide: existing(r.versitygwHost()),
		}, nil
	case "node":
		return r.node(ref, tag)
	case "versitygw":
		return r.versitygw(ref, tag)
	case "rclone":
		return r.rclone(ref, tag)
	}
	return nil, &PullError{Msg: fmt.Sprintf("image %q is not available on this local node: only postgres:<major>, node:<major>, kubectl, versity/versitygw:v1.8 and rclone/rclone:1.60 images can run here", ref)}
}

// node maps node:<major>[.<minor>…][-variant] onto the host's Node.js of that
// major. Floating tags (lts, latest, current) name no major and are refused
// rather than guessed.
func (r Resolver) node(ref, tag string) (*Image, error) {
	have := strings.SplitN(r.NodeVersion, ".", 2)[0]
	if r.NodeBin == "" || have == "" {
		return nil, &PullError{Msg: fmt.Sprintf("image %q: this local node has no Node.js", ref)}
	}
	want := strings.SplitN(strings.SplitN(tag, "-", 2)[0], ".", 2)[0]
	if want == "" || strings.Trim(want, "0123456789") != "" {
		return nil, &PullError{Msg: fmt.Sprintf("image %q: tag %q names no Node.js major version; use an explicit one (node:%s runs here)", ref, tagOr(tag), have)}
	}
	if want != have {
		return nil, &PullError{Msg: fmt.Sprintf("node %s is not installed on this local node (node:%s runs here, Node.js %s)", want, have, r.NodeVersion)}
	}
	return &Image{
		Ref: ref, Kind: KindNode, ID: "kpg://node@" + tag,
		Env: []string{
			"PATH=" + hostPath,
			"NODE_VERSION=" + r.NodeVersion,
			"YARN_VERSION=",
		},
		// The real image's ENTRYPOINT (docker-entrypoint.sh) only execs
		// its arguments; its CMD is node.
		Cmd:  []string{filepath.Base(r.NodeBin)},
		Home: "/root", UserName: "root",
		Hide: existing(concat(postgresTools(), hostOnlyTools, r.versitygwHost())),
	}, nil
}

// versitygwEntrypoint stands in for the real image's ENTRYPOINT, a script
// that runs versitygw with the container's arguments. The tests always pass
// them; building them from the image's VGW_* variables is not modelled, and
// a container without arguments fails saying so.
const versitygwEntrypoint = `if [ "$#" -eq 0 ]; then
  echo "kpg-node: give the versitygw container its arguments (e.g. --port :9000 posix /data); the image's VGW_* variables are not modelled on this local node" >&2
  exit 1
fi
exec "${VGW_BINARY:-/usr/local/bin/versitygw}" "$@"`

// versitygw maps versity/versitygw:v1.8[.x] onto the versitygw build.sh
// built (from the pinned module version): tags of another minor, or none,
// are refused.
func (r Resolver) versitygw(ref, tag string) (*Image, error) {
	have, ok := minor(r.VersitygwVersion)
	if r.VersitygwBin == "" || !ok {
		return nil, &PullError{Msg: fmt.Sprintf("image %q: versitygw is not built on this local node (test/cluster/build.sh builds it)", ref)}
	}
	if _, err := os.Stat(r.VersitygwBin); err != nil {
		return nil, &PullError{Msg: fmt.Sprintf("image %q: versitygw is not built on this local node (%v; test/cluster/build.sh builds it)", ref, err)}
	}
	runs := "versity/versitygw:" + r.VersitygwVersion
	want, ok := minor(tag)
	if !ok {
		return nil, &PullError{Msg: fmt.Sprintf("image %q: tag %q names no versitygw version; use an explicit one (%s runs here)", ref, tagOr(tag), runs)}
	}
	if want != have {
		return nil, &PullError{Msg: fmt.Sprintf("versitygw %s is not available on this local node (%s runs here)", tag, runs)}
	}
	return &Image{
		Ref: ref, Kind: KindVersitygw, ID: "kpg://versitygw@" + tag,
		Env: []string{"PATH=" + hostPath},
		// ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"], no CMD, no
		// USER: root.
		Entrypoint: []string{"/bin/sh", "-c", versitygwEntrypoint, "/usr/local/bin/docker-entrypoint.sh"},
		Home:       "/root", UserName: "root",
		Files: []File{{Path: "/usr/local/bin/versitygw", Source: r.VersitygwBin}},
		// /usr/local/bin is the image's own (Files), so it is not hidden.
		Hide: existing(concat(postgresTools(), nodeTools, without(hostOnlyTools, "/usr/local/bin"), r.versitygwHost())),
	}, nil
}

// rclone maps rclone/rclone:1.60[.x] onto the host's rclone of that minor.
func (r Resolver) rclone(ref, tag string) (*Image, error) {
	have, ok := minor(r.RcloneVersion)
	if r.RcloneBin == "" || !ok {
		return nil, &PullError{Msg: fmt.Sprintf("image %q: this local node has no rclone (Debian package rclone)", ref)}
	}
	runs := "rclone/rclone:" + have
	want, ok := minor(tag)
	if !ok {
		return nil, &PullError{Msg: fmt.Sprintf("image %q: tag %q names no rclone version; use an explicit one (%s runs here, rclone %s)", ref, tagOr(tag), runs, r.RcloneVersion)}
	}
	if want != have {
		return nil, &PullError{Msg: fmt.Sprintf("rclone %s is not installed on this local node (%s runs here, rclone %s)", tag, runs, r.RcloneVersion)}
	}
	return &Image{
		Ref: ref, Kind: KindRclone, ID: "kpg://rclone@" + tag,
		// The real image (Alpine) has ENTRYPOINT ["rclone"], no USER
		// (root), ENV XDG_CONFIG_HOME=/config and WORKDIR /data; the
		// working directory is not modelled (it would be created on the
		// host): "/" unless the pod sets workingDir.
		Env:        []string{"PATH=" + hostPath, "XDG_CONFIG_HOME=/config"},
		Entrypoint: []string{"rclone"},
		Home:       "/root", UserName: "root",
		Files: []File{{Path: "/usr/local/bin/rclone", Source: r.RcloneBin}},
		// The host's /usr/bin/rclone (in hostOnlyTools) stays hidden: the
		// image has it in /usr/local/bin.
		Hide: existing(concat(postgresTools(), nodeTools, without(hostOnlyTools, "/usr/local/bin"), r.versitygwHost())),
	}, nil
}

// minor is "1.60" for the versions or tags "1.60", "1.60.1" and "v1.60.1"
// (a -suffix is dropped from the host's versions: "1.60.1-DEV"); ok is false
// for anything else ("latest", "1", "").
func minor(v string) (string, bool) {
	v = strings.SplitN(strings.TrimPrefix(v, "v"), "-", 2)[0]
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return "", false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return "", false
		}
	}
	return parts[0] + "." + parts[1], true
}

// versitygwHost are the host's paths of the built versitygw, hidden from
// every image (its own has it as /usr/local/bin/versitygw). Paths under
// /tmp are left out: a container's /tmp is its own already, and an overlay
// could not be mounted there.
func (r Resolver) versitygwHost() []string {
	if r.VersitygwBin == "" {
		return nil
	}
	out := []string{r.VersitygwBin}
	if real, err := filepath.EvalSymlinks(r.VersitygwBin); err == nil && real != r.VersitygwBin {
		out = append(out, real)
	}
	var keep []string
	for _, p := range out {
		if p = filepath.Clean(p); p != "/tmp" && !strings.HasPrefix(p, "/tmp/") {
			keep = append(keep, p)
		}
	}
	return keep
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func without(list []string, drop ...string) []string {
	var out []string
	for _, p := range list {
		keep := true
		for _, d := range drop {
			keep = keep && p != d
		}
		if keep {
			out = append(out, p)
		}
	}
	return out
}

// hostOnlyTools are on this machine but in none of the images that run here
// (rclone/rclone has its own copy of /usr/bin/rclone as /usr/local/bin/rclone).
var hostOnlyTools = []string{
	"/usr/local/bin", "/usr/local/go", "/usr/local/lib", "/usr/local/sbin",
	"/usr/bin/go", "/usr/bin/docker", "/usr/bin/kubectl",
	"/usr/bin/rclone", "/usr/bin/pgbouncer", "/usr/sbin/pgbouncer",
	"/usr/bin/minio", "/usr/bin/pgbackrest",
}

// nodeTools are what a node image brings and a postgres image lacks.
var nodeTools = []string{
	"/usr/bin/node", "/usr/bin/nodejs", "/usr/bin/npm", "/usr/bin/npx",
	"/usr/bin/corepack", "/usr/bin/yarn", "/usr/lib/node_modules",
	"/usr/share/nodejs", "/usr/include/node",
}

// postgresTools are the host's PostgreSQL server and client programs.
func postgresTools() []string {
	out := []string{"/usr/lib/postgresql", "/usr/share/postgresql-common", "/usr/bin/psql",
		"/usr/bin/createdb", "/usr/bin/dropdb", "/usr/bin/createuser", "/usr/bin/dropuser",
		"/usr/bin/vacuumdb", "/usr/bin/reindexdb", "/usr/bin/clusterdb"}
	more, _ := filepath.Glob("/usr/bin/pg_*")
	return append(out, more...)
}

// existing keeps the paths present on this host: a mask over a missing path
// would create it on the host's filesystem.
func existing(paths []string) []string {
	var out []string
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func tagOr(tag string) string {
	if tag == "" {
		return "latest"
	}
	return tag
}

// Major extracts the PostgreSQL major from an image tag: "15.4-bookworm" →
// "15", "9.6-alpine" → "9.6" (before 10 the major had two parts).
func Major(tag string) string {
	end := 0
	for end < len(tag) && (tag[end] == '.' || (tag[end] >= '0' && tag[end] <= '9')) {
		end++
	}
	v := strings.Trim(tag[:end], ".")
	if v == "" {
		return ""
	}
	parts := strings.Split(v, ".")
	if len(parts[0]) == 1 && len(parts) > 1 { // single digit: before 10
		return parts[0] + "." + parts[1]
	}
	return parts[0]
}

func (r Resolver) postgres(ref, tag string) (*Image, error) {
	installed := strings.Join(r.Installed(), ", ")
	major := Major(tag)
	if major == "" {
		return nil, &PullError{Msg: fmt.Sprintf("image %q: tag %q names no PostgreSQL major version; use an explicit one (installed on this local node: %s)", ref, tagOr(tag), installed)}
	}
	bin := filepath.Join(r.PGRoot, major, "bin")
	if _, err := os.Stat(filepath.Join(bin, "postgres")); err != nil {
		return nil, &PullError{Msg: fmt.Sprintf("postgres %s is not installed on this local node (installed: %s)", major, installed)}
	}
	return &Image{
		Ref: ref, Kind: KindPostgres, PGMajor: major, ID: "kpg://postgres@" + tag,
		Env: []string{
			"PATH=" + bin + ":" + hostPath,
			"PG_MAJOR=" + major,
			"PGDATA=/var/lib/postgresql/data",
			"LANG=C.UTF-8",
		},
		// The real image's ENTRYPOINT (docker-entrypoint.sh) does not exist
		// here; its CMD does.
		Cmd: []string{"postgres"},
		UID: 999, GID: 999, Home: "/var/lib/postgresql", UserName: "postgres",
		Hide: existing(concat(nodeTools, hostOnlyTools, r.versitygwHost())),
	}, nil
}

// WithHostNode adds the host's Node.js, which node:<major> images run.
func WithHostNode(r Resolver) Resolver {
	bin, err := exec.LookPath("node")
	if err != nil {
		return r
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return r
	}
	r.NodeBin, r.NodeVersion = bin, strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	return r
}

// WithVersitygw adds the versitygw binary at bin (.cluster/bin/versitygw),
// which versity/versitygw images run, with the module version it was built
// from. Without a readable binary the images are refused.
func WithVersitygw(r Resolver, bin string) Resolver {
	r.VersitygwBin = bin
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return r
	}
	if info.Main.Path == VersitygwModule {
		r.VersitygwVersion = info.Main.Version
	}
	for _, d := range info.Deps {
		if d.Path == VersitygwModule {
			r.VersitygwVersion = d.Version
		}
	}
	return r
}

// WithHostRclone adds the host's rclone, which rclone/rclone images run.
func WithHostRclone(r Resolver) Resolver {
	bin, err := exec.LookPath("rclone")
	if err != nil {
		return r
	}
	// "rclone v1.60.1-DEV" first.
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		return r
	}
	first, _, _ := strings.Cut(string(out), "\n")
	v, ok := strings.CutPrefix(strings.TrimSpace(first), "rclone v")
	if !ok {
		return r
	}
	r.RcloneBin, r.RcloneVersion = bin, strings.SplitN(v, "-", 2)[0]
	return r
}
