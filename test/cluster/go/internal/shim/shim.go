// Package shim is the last step of starting a container. The node agent
// starts `kpg-node shim <spec>` in the pod's network namespace and in fresh
// mount, UTS and PID namespaces (sandbox.Start); the shim then builds the
// container's view of the filesystem, mounts a /proc of its own PID
// namespace, drops to the container user and execs the command, so the
// container's PID is the shim's PID.
package shim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Mount is one filesystem change, applied in order.
type Mount struct {
	// Type is "bind", "tmpfs" or "overlay" (Source holds whiteouts that
	// hide entries of Target).
	Type   string `json:"type"`
	Source string `json:"source,omitempty"`
	Target string `json:"target"`
	// ReadOnly remounts a bind mount read-only.
	ReadOnly bool `json:"readOnly,omitempty"`
	// Mode, UID and GID set the tmpfs root's permissions and owner.
	Mode uint32 `json:"mode,omitempty"`
	UID  int    `json:"uid,omitempty"`
	GID  int    `json:"gid,omitempty"`
}

// Spec is what the agent hands the shim, as JSON in a file.
type Spec struct {
	Hostname string   `json:"hostname"`
	Mounts   []Mount  `json:"mounts"`
	UID      uint32   `json:"uid"`
	GID      uint32   `json:"gid"`
	Groups   []uint32 `json:"groups,omitempty"`
	WorkDir  string   `json:"workDir"`
	Args     []string `json:"args"`
	Env      []string `json:"env"`
	// Cgroup is a cgroup v2 directory the shim joins first, so the whole
	// process tree is tracked from the start.
	Cgroup string `json:"cgroup,omitempty"`
	// CreatedLog receives, one per line, every mount point path the shim
	// had to create, so the agent can remove them once unused.
	CreatedLog string `json:"createdLog,omitempty"`
}

// StatusFD is the descriptor (inherited, close-on-exec set by the shim) on
// which a start failure is reported. EOF without data means exec succeeded.
const StatusFD = 3

// Main runs the shim; it only returns by exiting.
func Main(specPath string) {
	status := os.NewFile(StatusFD, "status")
	if status != nil {
		unix.CloseOnExec(StatusFD)
	}
	err := run(specPath)
	msg := fmt.Sprintf("kpg shim: %v", err)
	if status != nil {
		status.WriteString(msg)
	}
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(128)
}

func run(specPath string) error {
	b, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("spec %s: %w", specPath, err)
	}
	if s.Cgroup != "" {
		if err := os.WriteFile(filepath.Join(s.Cgroup, "cgroup.procs"), []byte("0"), 0); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	// The mount namespace is a copy of the host's: keep every mount made
	// here from propagating back.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	// A /proc of the container's own PID namespace: ps, kill -1 and
	// /proc/<pid> see only the pod's processes.
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	// Open every bind source first: an earlier mount may cover a later
	// source's path (a volume at /work hides a state dir under /work).
	srcs := make([]*os.File, len(s.Mounts))
	for i, m := range s.Mounts {
		// An overlay's whiteout layer is a source too: it lives in the
		// agent's state directory, which the /tmp tmpfs may cover.
		if m.Type != "bind" && m.Type != "overlay" {
			continue
		}
		f, err := os.OpenFile(m.Source, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("mount source: %w", err)
		}
		srcs[i] = f
	}
	var created []string
	defer func() {
		if s.CreatedLog != "" && len(created) > 0 {
			os.WriteFile(s.CreatedLog, []byte(strings.Join(created, "\n")+"\n"), 0o644)
		}
	}()
	var mounted []string
	for i, m := range s.Mounts {
		// Only paths created on the host's filesystem are worth recording;
		// inside an earlier mount (tmpfs, volume) they are private.
		if miss := missing(m.Target); len(miss) > 0 && !under(filepath.Dir(miss[0]), mounted) {
			created = append(created, miss...)
		}
		mounted = append(mounted, filepath.Clean(m.Target))
		if err := apply(m, srcs[i]); err != nil {
			return err
		}
		if srcs[i] != nil {
			srcs[i].Close()
		}
	}
	if s.Hostname != "" {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return fmt.Errorf("sethostname: %w", err)
		}
	}
	wd := s.WorkDir
	if wd == "" {
		wd = "/"
	}
	// Like runc, a missing working directory is created.
	if err := os.MkdirAll(wd, 0o755); err != nil {
		return fmt.Errorf("workingDir %s: %w", wd, err)
	}
	if err := os.Chdir(wd); err != nil {
		return fmt.Errorf("workingDir %s: %w", wd, err)
	}
	if len(s.Args) == 0 {
		return fmt.Errorf("no command specified")
	}
	path, err := lookPath(s.Args[0], s.Env)
	if err != nil {
		return err
	}
	// Still root here: the log lives in the agent's directory.
	if s.CreatedLog != "" && len(created) > 0 {
		os.WriteFile(s.CreatedLog, []byte(strings.Join(created, "\n")+"\n"), 0o644)
		created = nil
	}
	groups := make([]int, len(s.Groups))
	for i, g := range s.Groups {
		groups[i] = int(g)
	}
	// Go applies these to every thread of the process.
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(int(s.GID)); err != nil {
		return fmt.Errorf("setgid %d: %w", s.GID, err)
	}
	if err := syscall.Setuid(int(s.UID)); err != nil {
		return fmt.Errorf("setuid %d: %w", s.UID, err)
	}
	if err := syscall.Exec(path, s.Args, s.Env); err != nil {
		return fmt.Errorf("exec: %q: %w", s.Args[0], err)
	}
	return nil
}

// lookPath resolves the command with the container's PATH, not the shim's.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	pathEnv := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", name)
}

func apply(m Mount, src *os.File) error {
	switch m.Type {
	case "tmpfs":
		if err := os.MkdirAll(m.Target, 0o755); err != nil {
			return err
		}
		opts := fmt.Sprintf("mode=%o,uid=%d,gid=%d", m.Mode, m.UID, m.GID)
		if err := unix.Mount("tmpfs", m.Target, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
			return fmt.Errorf("mount tmpfs on %s: %w", m.Target, err)
		}
		return nil
	case "overlay":
		// Read-only, two lower layers: the whiteouts in Source (by its
		// descriptor: an earlier mount may hide its path) over what Target
		// shows now.
		opts := fmt.Sprintf("lowerdir=/proc/self/fd/%d:%s", src.Fd(), m.Target)
		if err := unix.Mount("overlay", m.Target, "overlay", unix.MS_RDONLY, opts); err != nil {
			return fmt.Errorf("hide entries of %s: %w", m.Target, err)
		}
		return nil
	case "bind":
		fi, err := src.Stat()
		if err != nil {
			return fmt.Errorf("mount source: %w", err)
		}
		if err := ensureTarget(m.Target, fi.IsDir()); err != nil {
			return err
		}
		fdPath := fmt.Sprintf("/proc/self/fd/%d", src.Fd())
		if err := unix.Mount(fdPath, m.Target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s on %s: %w", m.Source, m.Target, err)
		}
		if m.ReadOnly {
			if err := unix.Mount("", m.Target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_REC, ""); err != nil {
				return fmt.Errorf("remount %s read-only: %w", m.Target, err)
			}
		}
		return nil
	}
	return fmt.Errorf("unknown mount type %q", m.Type)
}

// under reports whether p is one of roots or inside one.
func under(p string, roots []string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

// missing lists target and its ancestors that do not exist yet, outermost
// first.
func missing(target string) []string {
	var out []string
	for p := filepath.Clean(target); p != "/" && p != "."; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil {
			break
		}
		out = append([]string{p}, out...)
	}
	return out
}

// ensureTarget creates the mount point. Outside mounts the agent made, this
// writes to the host's filesystem (an empty directory or file is left behind).
func ensureTarget(target string, dir bool) error {
	if dir {
		return os.MkdirAll(target, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(target); err == nil {
		return nil
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}
