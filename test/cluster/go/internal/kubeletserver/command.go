package kubeletserver

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"kpg.local/cluster/internal/podapi"
)

// nsFlags maps /proc/PID/ns entries to nsenter flags. Only namespaces that
// differ from ours are entered, so the exec works whichever set of
// namespaces the pod runtime chose to unshare.
var nsFlags = []struct{ ns, flag string }{
	{"mnt", "-m"}, {"uts", "-u"}, {"ipc", "-i"}, {"net", "-n"}, {"pid", "-p"}, {"cgroup", "-C"},
}

// execPlan is everything needed to start a process inside a container; it
// is computed by pure code so it can be unit tested.
type execPlan struct {
	Argv []string
	Env  []string
}

// planExec builds the nsenter command line. differs reports whether a
// namespace of the container differs from the agent's; setpriv is the path
// of setpriv(1) inside the container root, or "" if it has none.
func planExec(c podapi.Container, cmd []string, tty bool, differs func(ns string) bool, setpriv string) execPlan {
	argv := []string{"nsenter", "-t", strconv.Itoa(c.PID)}
	for _, f := range nsFlags {
		if differs(f.ns) {
			argv = append(argv, f.flag)
		}
	}
	// --root: the container may be chrooted inside its mount namespace;
	// /proc/PID/root is right in both cases.
	argv = append(argv, "--root")
	if c.WorkDir != "" {
		// -W resolves the directory after entering the namespaces and root,
		// unlike -w which opens it on the host.
		argv = append(argv, "-W", c.WorkDir)
	} else {
		argv = append(argv, "--wd")
	}
	if len(c.Groups) > 0 && setpriv != "" {
		// nsenter -S/-G clears supplementary groups; setpriv can set them.
		gs := make([]string, len(c.Groups))
		for i, g := range c.Groups {
			gs[i] = strconv.FormatUint(uint64(g), 10)
		}
		argv = append(argv, "--", setpriv,
			"--reuid", strconv.FormatUint(uint64(c.UID), 10),
			"--regid", strconv.FormatUint(uint64(c.GID), 10),
			"--groups", strings.Join(gs, ","))
	} else {
		argv = append(argv,
			"-S", strconv.FormatUint(uint64(c.UID), 10),
			"-G", strconv.FormatUint(uint64(c.GID), 10))
	}
	argv = append(argv, "--")
	argv = append(argv, cmd...)
	return execPlan{Argv: argv, Env: execEnv(c, tty)}
}

// execEnv mirrors what runc adds for an exec: a PATH if the image has none,
// HOME, and TERM for terminals.
func execEnv(c podapi.Container, tty bool) []string {
	env := append([]string(nil), c.Env...)
	has := func(k string) bool {
		for _, e := range env {
			if strings.HasPrefix(e, k+"=") {
				return true
			}
		}
		return false
	}
	if !has("PATH") {
		env = append(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	if !has("HOME") {
		if c.UID == 0 {
			env = append(env, "HOME=/root")
		} else {
			env = append(env, "HOME=/")
		}
	}
	if tty && !has("TERM") {
		env = append(env, "TERM=xterm")
	}
	return env
}

// nsDiffers compares namespace inodes of pid and of the agent. On any error
// it answers true: entering a namespace we are already in is harmless.
func nsDiffers(pid int) func(string) bool {
	return func(ns string) bool {
		var a, b syscall.Stat_t
		if syscall.Stat(fmt.Sprintf("/proc/%d/ns/%s", pid, ns), &a) != nil ||
			syscall.Stat("/proc/self/ns/"+ns, &b) != nil {
			return true
		}
		return a.Ino != b.Ino || a.Dev != b.Dev
	}
}

// findSetpriv looks for setpriv inside the container's root filesystem.
func findSetpriv(pid int) string {
	for _, p := range []string{"/usr/bin/setpriv", "/bin/setpriv"} {
		if st, err := os.Stat(fmt.Sprintf("/proc/%d/root%s", pid, p)); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}
