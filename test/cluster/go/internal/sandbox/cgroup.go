package sandbox

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Containers are tracked with a cgroup v2 each: PostgreSQL's children call
// setsid(), so a process group does not hold a container's process tree, and
// without a PID namespace nothing else ends them with their main process.
// cgroup.kill ends the whole tree at once.

// CgroupBase is the cgroup v2 directory under which container cgroups are
// created, or "" when cgroup v2 is unavailable.
var CgroupBase = findCgroupBase()

func findCgroupBase() string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	mount := ""
	for sc.Scan() {
		// "... - cgroup2 cgroup2 rw"
		l := sc.Text()
		i := strings.Index(l, " - ")
		if i < 0 {
			continue
		}
		if post := strings.Fields(l[i+3:]); len(post) > 0 && post[0] == "cgroup2" {
			mount = strings.Fields(l)[4]
			break
		}
	}
	if mount == "" {
		return ""
	}
	self := "/"
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if p, ok := strings.CutPrefix(l, "0::"); ok {
				self = p
			}
		}
	}
	base := filepath.Join(mount, self, "kpg")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return ""
	}
	if _, err := os.Stat(filepath.Join(base, "cgroup.procs")); err != nil {
		return ""
	}
	return base
}

// NewCgroup creates the cgroup for one container instance.
func NewCgroup(id string) (string, error) {
	if CgroupBase == "" {
		return "", nil
	}
	p := filepath.Join(CgroupBase, id)
	return p, os.Mkdir(p, 0o755)
}

// CgroupPopulated reports whether a live process is in the cgroup.
func CgroupPopulated(cg string) bool {
	b, err := os.ReadFile(filepath.Join(cg, "cgroup.events"))
	if err != nil {
		return false
	}
	return strings.Contains(string(b), "populated 1")
}

// KillCgroup SIGKILLs everything in the cgroup, waits (up to ~10 s) until it
// is empty and removes it.
func KillCgroup(cg string) {
	if cg == "" {
		return
	}
	for i := 0; i < 200 && CgroupPopulated(cg); i++ {
		if i%20 == 0 {
			os.WriteFile(filepath.Join(cg, "cgroup.kill"), []byte("1"), 0)
		}
		time.Sleep(50 * time.Millisecond)
	}
	os.Remove(cg)
}

// KillAllCgroups ends every container cgroup (leftovers of a previous run).
func KillAllCgroups() {
	if CgroupBase == "" {
		return
	}
	ents, _ := os.ReadDir(CgroupBase)
	for _, e := range ents {
		if e.IsDir() {
			KillCgroup(filepath.Join(CgroupBase, e.Name()))
		}
	}
}

// CgroupPath is the cgroup of the container instance id (as NewCgroup made
// it), or "" without cgroup v2.
func CgroupPath(id string) string {
	if CgroupBase == "" || id == "" {
		return ""
	}
	return filepath.Join(CgroupBase, id)
}

// cgroupEvent reads one key of cgroup.events ("populated", "frozen").
func cgroupEvent(cg, key string) bool {
	b, err := os.ReadFile(filepath.Join(cg, "cgroup.events"))
	if err != nil {
		return false
	}
	return strings.Contains(string(b), key+" 1")
}

// FreezeCgroup freezes (or thaws) every process in the cgroup with the
// cgroup v2 freezer and waits (up to ~2 s) until the kernel reports it
// done. A frozen process does not run, not even to handle signals, but
// cgroup.kill still ends it.
func FreezeCgroup(cg string, frozen bool) error {
	v := "0"
	if frozen {
		v = "1"
	}
	if err := os.WriteFile(filepath.Join(cg, "cgroup.freeze"), []byte(v), 0); err != nil {
		return err
	}
	for i := 0; i < 40; i++ {
		if cgroupEvent(cg, "frozen") == frozen {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return os.ErrDeadlineExceeded
}

// CgroupFrozen reports whether the cgroup is frozen.
func CgroupFrozen(cg string) bool { return cgroupEvent(cg, "frozen") }
