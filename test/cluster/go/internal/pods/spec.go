package pods

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	v1 "k8s.io/api/core/v1"

	"kpg.local/cluster/internal/envvars"
	"kpg.local/cluster/internal/hostsfile"
	"kpg.local/cluster/internal/images"
	"kpg.local/cluster/internal/shim"
)

type shimSpec = shim.Spec

// user picks uid/gid/groups: container securityContext, then pod's, then
// the image default.
func user(pod *v1.Pod, c *v1.Container, img *images.Image) (uid, gid int64, groups []int64, err error) {
	uid, gid = img.UID, img.GID
	var psc v1.PodSecurityContext
	if pod.Spec.SecurityContext != nil {
		psc = *pod.Spec.SecurityContext
	}
	csc := c.SecurityContext
	if csc == nil {
		csc = &v1.SecurityContext{}
	}
	userSet := false
	if u := first(csc.RunAsUser, psc.RunAsUser); u != nil {
		uid, userSet = *u, true
	}
	if g := first(csc.RunAsGroup, psc.RunAsGroup); g != nil {
		gid = *g
	} else if userSet && uid != img.UID {
		// A bare numeric user without a passwd entry in the image gets gid 0.
		gid = 0
	}
	if nr := csc.RunAsNonRoot; (nr != nil && *nr) || (nr == nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot) {
		if uid == 0 {
			return 0, 0, nil, fmt.Errorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", pod.Namespace+"/"+pod.Name, c.Name)
		}
	}
	if psc.FSGroup != nil {
		groups = append(groups, *psc.FSGroup)
	}
	groups = append(groups, psc.SupplementalGroups...)
	return uid, gid, groups, nil
}

func first(a, b *int64) *int64 {
	if a != nil {
		return a
	}
	return b
}

// prepare resolves everything an instance needs and writes its files.
func (c *ctr) prepare(img *images.Image) (*shimSpec, execInfo, error) {
	w := c.w
	pod := w.currentPod()
	uid, gid, groups, err := user(pod, c.spec, img)
	if err != nil {
		return nil, execInfo{}, err
	}
	home := "/"
	switch {
	case uid == img.UID:
		home = img.Home
	case uid == 0:
		home = "/root"
	}
	w.mu.Lock()
	podIP, vols := w.podIP, w.vols
	w.mu.Unlock()
	env, err := envvars.Resolve(envvars.Input{
		Pod: pod, Container: c.spec, PodIPs: []string{podIP}, HostIPs: []string{"127.0.0.1"},
		Hostname: hostname(pod), ImageEnv: append(append([]string{}, img.Env...), "HOME="+home),
		ServiceEnv: map[string]string{
			"KUBERNETES_SERVICE_HOST":       "127.0.0.1",
			"KUBERNETES_SERVICE_PORT":       "6443",
			"KUBERNETES_SERVICE_PORT_HTTPS": "6443",
			"KUBERNETES_PORT":               "tcp://127.0.0.1:6443",
		},
		NodeAllocatable: w.m.cfg.NodeAllocatable,
	}, w.m)
	if err != nil {
		return nil, execInfo{}, err
	}
	envMap := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		envMap[k] = v
	}
	argv := commandLine(c.spec, img, envMap)
	if len(argv) == 0 {
		return nil, execInfo{}, fmt.Errorf("no command specified: image %q has no entrypoint on this local node", c.spec.Image)
	}
	dir := c.dir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, execInfo{}, err
	}
	tlog := filepath.Join(dir, "termination-log")
	if err := os.WriteFile(tlog, nil, 0o666); err != nil {
		return nil, execInfo{}, err
	}
	os.Chmod(tlog, 0o666)
	if err := c.writeAccounts(img, uid, gid, groups, home); err != nil {
		return nil, execInfo{}, err
	}
	mounts, err := c.mounts(img, vols, uid, gid, envMap)
	if err != nil {
		return nil, execInfo{}, err
	}
	g32 := make([]uint32, 0, len(groups))
	for _, g := range groups {
		g32 = append(g32, uint32(g))
	}
	wd := c.spec.WorkingDir
	if wd == "" {
		wd = "/"
	}
	spec := &shimSpec{Hostname: hostname(pod), Mounts: mounts, UID: uint32(uid), GID: uint32(gid), Groups: g32, WorkDir: wd, Args: argv, Env: env}
	return spec, execInfo{uid: uint32(uid), gid: uint32(gid), groups: g32, env: env, workDir: wd}, nil
}

// commandLine applies the Kubernetes command/args vs. ENTRYPOINT/CMD rules
// and $(VAR) expansion.
func commandLine(c *v1.Container, img *images.Image, env map[string]string) []string {
	var argv []string
	switch {
	case len(c.Command) > 0:
		argv = append(argv, c.Command...)
		argv = append(argv, c.Args...)
	case len(c.Args) > 0:
		argv = append(append(argv, img.Entrypoint...), c.Args...)
	default:
		argv = append(append(argv, img.Entrypoint...), img.Cmd...)
	}
	for i, a := range argv {
		argv[i] = envvars.Expand(a, env)
	}
	return argv
}

// writeAccounts writes the container's /etc/passwd and /etc/group. initdb
// and psql look the running uid up, so it must have an entry; for postgres
// images any uid is "postgres", as the image's nss_wrapper arranges.
func (c *ctr) writeAccounts(img *images.Image, uid, gid int64, groups []int64, home string) error {
	users := []hostsfile.User{}
	gnames := map[int64]string{}
	if img.UserName != "" && img.UID != 0 {
		users = append(users, hostsfile.User{Name: img.UserName, UID: img.UID, GID: img.GID, Home: img.Home})
		gnames[img.GID] = img.UserName
	}
	name := fmt.Sprintf("user%d", uid)
	if img.Kind == images.KindPostgres {
		name = "postgres"
	}
	if uid != 0 {
		users = append(users, hostsfile.User{Name: name, UID: uid, GID: gid, Home: home})
	}
	members := map[int64][]string{}
	for _, g := range append([]int64{gid}, groups...) {
		if _, ok := gnames[g]; !ok && g != 0 {
			gnames[g] = fmt.Sprintf("group%d", g)
		}
	}
	for _, g := range groups {
		if uid != 0 {
			members[g] = append(members[g], name)
		}
	}
	dir := c.dir()
	if err := os.WriteFile(filepath.Join(dir, "passwd"), hostsfile.Passwd(users...), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "group"), hostsfile.Group(gnames, members), 0o644)
}

// mounts lists the filesystem changes in order: private scratch dirs, the
// image's data dir, volumes (shallowest first), then the generated /etc files.
func (c *ctr) mounts(img *images.Image, vols volumeSet, uid, gid int64, env map[string]string) ([]shim.Mount, error) {
	ms := []shim.Mount{{Type: "tmpfs", Target: "/tmp", Mode: 0o1777}}
	hide, err := c.hideMounts(img.Hide)
	if err != nil {
		return nil, err
	}
	ms = append(ms, hide...)
	ms = append(ms, fileMounts(img.Files)...)
	runPG := []string{"/run/postgresql"}
	if r, err := filepath.EvalSymlinks("/var/run"); err != nil || r != "/run" {
		runPG = append(runPG, "/var/run/postgresql")
	}
	for _, t := range runPG {
		ms = append(ms, shim.Mount{Type: "tmpfs", Target: t, Mode: 0o2775, UID: int(uid), GID: int(gid)})
	}
	if uid == 0 {
		// Keep the host's root home (and any kubeconfig in it) out of sight.
		ms = append(ms, shim.Mount{Type: "tmpfs", Target: "/root", Mode: 0o700})
	}
	if img.Kind == images.KindPostgres {
		// The image's /var/lib/postgresql (with an empty, world-writable
		// PGDATA) is the container's own, not the host's, and like a
		// container's writable layer it starts fresh with every instance.
		layer := filepath.Join(c.dir(), "layer")
		os.RemoveAll(layer)
		lib := filepath.Join(layer, "var-lib-postgresql")
		if err := os.MkdirAll(filepath.Join(lib, "data"), 0o755); err != nil {
			return nil, err
		}
		os.Chown(lib, int(img.UID), int(img.GID))
		os.Chown(filepath.Join(lib, "data"), int(img.UID), int(img.GID))
		os.Chmod(filepath.Join(lib, "data"), 0o777)
		ms = append(ms, shim.Mount{Type: "bind", Source: lib, Target: "/var/lib/postgresql"})
	}
	var vms []shim.Mount
	for _, vm := range c.spec.VolumeMounts {
		src, ro, ok := vols.Path(vm.Name)
		if !ok {
			return nil, fmt.Errorf("volume %q of mount %s is not set up", vm.Name, vm.MountPath)
		}
		sub := vm.SubPath
		if vm.SubPathExpr != "" {
			sub = envvarsExpand(vm.SubPathExpr, env)
		}
		if sub != "" {
			clean := filepath.Clean(sub)
			if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
				return nil, fmt.Errorf("subPath %q must be a relative path inside the volume", sub)
			}
			src = filepath.Join(src, clean)
			if _, err := os.Stat(src); os.IsNotExist(err) {
				if err := os.MkdirAll(src, 0o755); err != nil {
					return nil, err
				}
			}
		}
		vms = append(vms, shim.Mount{Type: "bind", Source: src, Target: filepath.Clean(vm.MountPath), ReadOnly: vm.ReadOnly || ro})
	}
	sort.SliceStable(vms, func(i, j int) bool { return depth(vms[i].Target) < depth(vms[j].Target) })
	ms = append(ms, vms...)
	tmp := c.spec.TerminationMessagePath
	if tmp == "" {
		tmp = v1.TerminationMessagePathDefault
	}
	pd := c.w.dir()
	ms = append(ms,
		shim.Mount{Type: "bind", Source: filepath.Join(c.dir(), "termination-log"), Target: tmp},
		shim.Mount{Type: "bind", Source: filepath.Join(pd, "etc", "hosts"), Target: "/etc/hosts"},
		shim.Mount{Type: "bind", Source: filepath.Join(pd, "etc", "resolv.conf"), Target: "/etc/resolv.conf"},
		shim.Mount{Type: "bind", Source: filepath.Join(pd, "etc", "hostname"), Target: "/etc/hostname"},
		shim.Mount{Type: "bind", Source: filepath.Join(c.dir(), "passwd"), Target: "/etc/passwd", ReadOnly: true},
		shim.Mount{Type: "bind", Source: filepath.Join(c.dir(), "group"), Target: "/etc/group", ReadOnly: true},
	)
	return ms, nil
}

// volumeSet is the part of volumes.Set that mounts need.
type volumeSet interface {
	Path(name string) (path string, readOnly bool, ok bool)
}

func envvarsExpand(s string, env map[string]string) string { return envvars.Expand(s, env) }

func depth(p string) int { return strings.Count(filepath.Clean(p), "/") }

// fileMounts gives each directory of the image's own programs an empty
// private tmpfs holding read-only binds of them, and nothing else, as the
// image's layer would. They follow the hiding overlays, so a directory hidden
// in an overlay must not be one of these (images leaves it out of Hide).
func fileMounts(files []images.File) []shim.Mount {
	byDir := map[string][]images.File{}
	var dirs []string
	for _, f := range files {
		d := filepath.Dir(filepath.Clean(f.Path))
		if _, ok := byDir[d]; !ok {
			dirs = append(dirs, d)
		}
		byDir[d] = append(byDir[d], f)
	}
	sort.Strings(dirs)
	var ms []shim.Mount
	for _, d := range dirs {
		ms = append(ms, shim.Mount{Type: "tmpfs", Target: d, Mode: 0o755})
		for _, f := range byDir[d] {
			ms = append(ms, shim.Mount{Type: "bind", Source: f.Source, Target: filepath.Clean(f.Path), ReadOnly: true})
		}
	}
	return ms
}

// hideMounts makes the host paths an image lacks absent, not just unusable:
// each parent directory gets a read-only overlay whose upper layer holds a
// whiteout (a 0/0 character device) per hidden name, so `command -v`, ls and
// exec all find nothing there.
func (c *ctr) hideMounts(paths []string) ([]shim.Mount, error) {
	byDir := map[string][]string{}
	var dirs []string
	for _, p := range paths {
		d, name := filepath.Split(filepath.Clean(p))
		d = filepath.Clean(d)
		if _, ok := byDir[d]; !ok {
			dirs = append(dirs, d)
		}
		byDir[d] = append(byDir[d], name)
	}
	sort.Strings(dirs)
	root := filepath.Join(c.dir(), "hide")
	os.RemoveAll(root)
	var ms []shim.Mount
	for i, d := range dirs {
		wh := filepath.Join(root, strconv.Itoa(i))
		if err := os.MkdirAll(wh, 0o755); err != nil {
			return nil, err
		}
		for _, name := range byDir[d] {
			if err := unix.Mknod(filepath.Join(wh, name), unix.S_IFCHR|0o000, 0); err != nil {
				return nil, fmt.Errorf("whiteout for %s: %w", filepath.Join(d, name), err)
			}
		}
		ms = append(ms, shim.Mount{Type: "overlay", Source: wh, Target: d})
	}
	return ms, nil
}
