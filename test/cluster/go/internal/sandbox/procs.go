package sandbox

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func inode(path string) (dev, ino uint64, ok bool) {
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return 0, 0, false
	}
	return st.Dev, st.Ino, true
}

func allPids() []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// NetNSPids lists live processes whose network namespace is nsPath. Zombies
// have no namespace links and are skipped.
func NetNSPids(nsPath string) []int {
	dev, ino, ok := inode(nsPath)
	if !ok {
		return nil
	}
	self := os.Getpid()
	var out []int
	for _, pid := range allPids() {
		if pid == self {
			continue
		}
		d, i, ok := inode("/proc/" + strconv.Itoa(pid) + "/ns/net")
		if ok && d == dev && i == ino {
			out = append(out, pid)
		}
	}
	return out
}

// KillNetNS SIGKILLs everything in the namespace until nothing is left (at
// most ~10 s, for processes stuck in the kernel).
func KillNetNS(nsPath string) {
	for i := 0; i < 100; i++ {
		pids := NetNSPids(nsPath)
		if len(pids) == 0 {
			return
		}
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// procStat returns the state letter and process group of pid.
func procStat(pid int) (state byte, pgid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name may hold spaces and parentheses: fields start after
	// the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 3 {
		return 0, 0, false
	}
	pg, _ := strconv.Atoi(f[2])
	return f[0][0], pg, true
}

// GroupAlive reports whether any non-zombie process is in process group pgid.
// kill(-pgid, 0) is not enough: zombies reparented to an init that does not
// reap them would keep the group "alive" forever.
func GroupAlive(pgid int) bool {
	if syscall.Kill(-pgid, 0) == syscall.ESRCH {
		return false
	}
	for _, pid := range allPids() {
		if st, pg, ok := procStat(pid); ok && pg == pgid && st != 'Z' {
			return true
		}
	}
	return false
}

// KillGroup SIGKILLs process group pgid and waits (up to ~10 s) until it is
// empty.
func KillGroup(pgid int) {
	for i := 0; i < 100 && GroupAlive(pgid); i++ {
		syscall.Kill(-pgid, syscall.SIGKILL)
		time.Sleep(50 * time.Millisecond)
	}
}

// NetNSOf returns the device and inode of pid's network namespace.
func NetNSOf(pid int) (dev, ino uint64, ok bool) {
	return inode("/proc/" + strconv.Itoa(pid) + "/ns/net")
}

// SameNetNS reports whether pid lives in the namespace mounted at nsPath.
func SameNetNS(pid int, nsPath string) bool {
	d1, i1, ok1 := NetNSOf(pid)
	d2, i2, ok2 := inode(nsPath)
	return ok1 && ok2 && d1 == d2 && i1 == i2
}
