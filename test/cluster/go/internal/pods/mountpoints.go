package pods

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// mountPoints removes the empty directories and files that shims had to
// create on the host's filesystem as mount points (e.g. /etc/config for a
// volume), once no live container mounts anything there. Removing a path
// that is a mount point in another mount namespace would detach that mount,
// hence the bookkeeping of every live container's targets.
type mountPoints struct {
	mu      sync.Mutex
	live    map[*proc][]string
	created map[string]bool
}

func newMountPoints() *mountPoints {
	return &mountPoints{live: map[*proc][]string{}, created: map[string]bool{}}
}

// started records an instance's mount targets and the paths its shim created.
func (mp *mountPoints) started(p *proc, targets []string, createdLog string) {
	b, _ := os.ReadFile(createdLog)
	os.Remove(createdLog)
	mp.mu.Lock()
	defer mp.mu.Unlock()
	mp.live[p] = targets
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); filepath.IsAbs(l) && l != "/" {
			mp.created[l] = true
		}
	}
}

// exited forgets an instance and removes created paths nobody uses.
func (mp *mountPoints) exited(p *proc) {
	mp.mu.Lock()
	defer mp.mu.Unlock()
	delete(mp.live, p)
	paths := make([]string, 0, len(mp.created))
	for c := range mp.created {
		paths = append(paths, c)
	}
	// Deepest first, so parents are empty when their turn comes.
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
	for _, c := range paths {
		if mp.inUse(c) {
			continue
		}
		if removeIfEmpty(c) {
			delete(mp.created, c)
		}
	}
}

func (mp *mountPoints) inUse(path string) bool {
	for _, ts := range mp.live {
		for _, t := range ts {
			if t == path || strings.HasPrefix(t, path+"/") {
				return true
			}
		}
	}
	return false
}

// removeIfEmpty deletes an empty directory or empty regular file; true when
// the path is gone.
func removeIfEmpty(p string) bool {
	fi, err := os.Lstat(p)
	if os.IsNotExist(err) {
		return true
	}
	if err != nil || (fi.Mode().IsRegular() && fi.Size() > 0) || (!fi.IsDir() && !fi.Mode().IsRegular()) {
		return false
	}
	return os.Remove(p) == nil
}

// removeCreatedLeftovers handles the created-mount-point logs of a previous
// run (all its containers are dead by now).
func removeCreatedLeftovers(podsDir string) {
	logs, _ := filepath.Glob(filepath.Join(podsDir, "*", "containers", "*", "created-*"))
	mp := newMountPoints()
	for _, l := range logs {
		mp.started(&proc{}, nil, l)
	}
	mp.exited(&proc{})
}
