// Package images maps container image references onto what this host can
// actually run. There is no image store: a "postgres:<major>" image runs the
// host's PostgreSQL of that major, a "kubectl" image runs the cluster's
// kubectl. Anything else must fail loudly, like a failed pull, so tests never
// pass against a silently substituted program.
package images

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Kinds of runnable images.
const (
	KindPostgres = "postgres"
	KindKubectl  = "kubectl"
)

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
}

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
		}, nil
	}
	return nil, &PullError{Msg: fmt.Sprintf("image %q is not available on this local node: only postgres:<major> and kubectl images can run here", ref)}
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
	}, nil
}
