package pods

import (
	"fmt"
	"os"

	"kpg.local/cluster/internal/podapi"
)

var _ podapi.Lookup = (*Manager)(nil)

// newest returns the most recent instance of ns/name.
func (m *Manager) newest(ns, name string) *worker {
	m.mu.Lock()
	defer m.mu.Unlock()
	list := m.byName[ns+"/"+name]
	if len(list) == 0 {
		return nil
	}
	return list[len(list)-1]
}

func (w *worker) ctr(name string) *ctr {
	for _, c := range w.ctrs {
		if c.spec.Name == name {
			return c
		}
	}
	return nil
}

// Container implements podapi.Lookup.
func (m *Manager) Container(ns, pod, container string) (podapi.Container, error) {
	w := m.newest(ns, pod)
	if w == nil {
		return podapi.Container{}, podapi.ErrNotFound
	}
	c := w.ctr(container)
	if c == nil {
		return podapi.Container{}, podapi.ErrNotFound
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !c.running || w.sb == nil {
		return podapi.Container{}, podapi.ErrNotRunning
	}
	return podapi.Container{
		PodUID: string(w.uid), Namespace: ns, Pod: pod, Name: container,
		PID: c.pid, NetNS: w.sb.Path, UID: c.exec.uid, GID: c.exec.gid,
		Groups: append([]uint32(nil), c.exec.groups...), Env: append([]string(nil), c.exec.env...), WorkDir: c.exec.workDir,
	}, nil
}

// LogPath implements podapi.Lookup.
func (m *Manager) LogPath(ns, pod, container string, previous bool) (string, error) {
	w := m.newest(ns, pod)
	if w == nil {
		return "", podapi.ErrNotFound
	}
	c := w.ctr(container)
	if c == nil {
		return "", podapi.ErrNotFound
	}
	w.mu.Lock()
	p := c.logPath
	if previous {
		p = c.prevLog
	}
	w.mu.Unlock()
	if p == "" {
		if previous {
			return "", fmt.Errorf("previous terminated container %q in pod %q not found: %w", container, pod, podapi.ErrNotFound)
		}
		return "", podapi.ErrNotFound
	}
	if _, err := os.Stat(p); err != nil {
		return "", podapi.ErrNotFound
	}
	return p, nil
}

// DefaultContainer implements podapi.Lookup.
func (m *Manager) DefaultContainer(ns, pod string) (string, error) {
	w := m.newest(ns, pod)
	if w == nil {
		return "", podapi.ErrNotFound
	}
	p := w.currentPod()
	if n := p.Annotations["kubectl.kubernetes.io/default-container"]; n != "" && w.ctr(n) != nil {
		return n, nil
	}
	if len(p.Spec.Containers) == 0 {
		return "", podapi.ErrNotFound
	}
	return p.Spec.Containers[0].Name, nil
}
