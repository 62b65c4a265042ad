package pods

import (
	"encoding/json"
	"os"
	"path/filepath"

	"kpg.local/cluster/internal/sandbox"
)

// stateFile is the per-pod file that fault-injection tests read to find
// process groups to SIGKILL/SIGSTOP and veths to take down.
type stateFile struct {
	UID        string                    `json:"uid"`
	Namespace  string                    `json:"namespace"`
	Name       string                    `json:"name"`
	Node       string                    `json:"node"`
	IP         string                    `json:"ip"`
	NetNS      string                    `json:"netns"`
	HostVeth   string                    `json:"hostVeth"`
	Containers map[string]containerState `json:"containers"`
}

type containerState struct {
	PID          int   `json:"pid"`
	Running      bool  `json:"running"`
	RestartCount int32 `json:"restartCount"`
	// Cgroup is the running instance's cgroup v2 directory (freeze, kill).
	Cgroup string `json:"cgroup,omitempty"`
}

func (m *Manager) statePath(ns, name string) string {
	return filepath.Join(m.cfg.StateDir, "pods", ns+"_"+name+".json")
}

// saveState writes the file atomically (tmp + rename) so readers never see
// a partial document.
func (w *worker) saveState() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.saveStateLocked()
}

// saveStateLocked writes the file while w.mu is held, so no status push can
// publish a change before the file shows it.
func (w *worker) saveStateLocked() {
	st := stateFile{UID: string(w.uid), Namespace: w.ns, Name: w.name, Node: w.node, IP: w.podIP, Containers: map[string]containerState{}}
	if w.sb != nil {
		st.NetNS, st.HostVeth = w.sb.Path, w.sb.HostVeth
	}
	for _, c := range w.ctrs {
		cs := containerState{PID: c.pid, Running: c.running, RestartCount: c.restarts}
		if c.running {
			cs.Cgroup = sandbox.CgroupPath(c.id)
		}
		st.Containers[c.spec.Name] = cs
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	p := w.m.statePath(w.ns, w.name)
	tmp := p + ".tmp-" + string(w.uid)
	if os.WriteFile(tmp, b, 0o644) == nil {
		os.Rename(tmp, p)
	}
}

// removeState deletes the file only if it still describes this pod instance.
func (w *worker) removeState() {
	p := w.m.statePath(w.ns, w.name)
	b, err := os.ReadFile(p)
	if err != nil {
		return
	}
	var st stateFile
	if json.Unmarshal(b, &st) == nil && st.UID == string(w.uid) {
		os.Remove(p)
	}
}
