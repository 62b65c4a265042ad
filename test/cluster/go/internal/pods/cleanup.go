package pods

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
	"k8s.io/klog/v2"

	"kpg.local/cluster/internal/sandbox"
)

// CleanupLeftovers removes what a previous run left behind: processes
// recorded in state files, every kpg netns and bridge veth, host mounts under
// the pods directory, and the pods directory's contents.
func CleanupLeftovers(stateDir string) {
	dir := filepath.Join(stateDir, "pods")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	_, hostIno, _ := sandbox.NetNSOf(os.Getpid())
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var st stateFile
		if json.Unmarshal(b, &st) != nil {
			continue
		}
		for name, c := range st.Containers {
			if c.PID <= 0 {
				continue
			}
			// Guard against PID reuse: only a group leader outside the host
			// network namespace can be a container we started.
			_, ino, ok := sandbox.NetNSOf(c.PID)
			pg, err := syscall.Getpgid(c.PID)
			if ok && ino != hostIno && err == nil && pg == c.PID {
				klog.Infof("killing leftover container %s/%s %s (pid %d)", st.Namespace, st.Name, name, c.PID)
				sandbox.KillGroup(c.PID)
			}
		}
	}
	sandbox.KillAllCgroups()
	sandbox.CleanupAll()
	unmountUnder(dir)
	removeCreatedLeftovers(dir)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// unmountUnder detaches every mount below dir, deepest first, so RemoveAll
// never descends into a mounted filesystem.
func unmountUnder(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var mps []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			mps = append(mps, fields[4])
		}
	}
	sort.Slice(mps, func(i, j int) bool { return len(mps[i]) > len(mps[j]) })
	for _, mp := range mps {
		unix.Unmount(mp, unix.MNT_DETACH)
	}
}
