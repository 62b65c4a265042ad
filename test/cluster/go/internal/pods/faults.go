package pods

import (
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	"kpg.local/cluster/internal/sandbox"
)

// NodeFaults is the fault state tests set on nodes (internal/faults.State).
type NodeFaults interface {
	// Lost: behave as a dead kubelet, acting on nothing and reporting
	// nothing for the node.
	Lost(node string) bool
	// Silent: report nothing (lost or partitioned).
	Silent(node string) bool
	// WaitWhile blocks while cond holds, until done is closed.
	WaitWhile(cond func() bool, done <-chan struct{}) bool
}

func (m *Manager) nodeLost(node string) bool {
	return m.cfg.Faults != nil && m.cfg.Faults.Lost(node)
}

func (m *Manager) nodeSilent(node string) bool {
	return m.cfg.Faults != nil && m.cfg.Faults.Silent(node)
}

// waitNodeUp holds a container that is about to (re)start while its node is
// lost: a dead kubelet restarts nothing.
func (m *Manager) waitNodeUp(w *worker) {
	if m.cfg.Faults == nil {
		return
	}
	m.cfg.Faults.WaitWhile(func() bool { return m.nodeLost(w.node) }, w.stopCh)
}

func (m *Manager) nodeWorkers(node string) []*worker {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*worker
	for _, w := range m.workers {
		if w.node == node {
			out = append(out, w)
		}
	}
	return out
}

// cgroups lists the cgroups of the worker's running containers.
func (w *worker) cgroups() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, c := range w.ctrs {
		if cg := sandbox.CgroupPath(c.id); c.running && cg != "" {
			out = append(out, cg)
		}
	}
	return out
}

// FreezeNode freezes or thaws every running container of the node's pods.
func (m *Manager) FreezeNode(node string, frozen bool) (int, error) {
	n := 0
	var firstErr error
	for _, w := range m.nodeWorkers(node) {
		for _, cg := range w.cgroups() {
			if sandbox.CgroupFrozen(cg) == frozen {
				continue
			}
			if err := sandbox.FreezeCgroup(cg, frozen); err != nil {
				if sandbox.CgroupPopulated(cg) && firstErr == nil {
					firstErr = err
				}
				continue
			}
			n++
		}
	}
	return n, firstErr
}

// KillNode kills every container of the node's pods; the runtime sees them
// exit but restarts nothing while the node is lost.
func (m *Manager) KillNode(node string) int {
	n := 0
	for _, w := range m.nodeWorkers(node) {
		for _, cg := range w.cgroups() {
			if sandbox.CgroupPopulated(cg) {
				sandbox.KillCgroup(cg)
				n++
			}
		}
	}
	return n
}

// gone reports whether the worker's pod object is no longer in the API.
func (m *Manager) gone(w *worker) bool {
	p, err := m.pods.Pods(w.ns).Get(w.name)
	return err != nil || p.UID != w.uid
}

// KillRemoved kills the containers of the node's pods that were deleted
// while it was lost, before anything thaws: they must never run again.
func (m *Manager) KillRemoved(node string) []string {
	var out []string
	for _, w := range m.nodeWorkers(node) {
		if !m.gone(w) {
			continue
		}
		for _, cg := range w.cgroups() {
			sandbox.KillCgroup(cg)
		}
		w.mu.Lock()
		sb := w.sb
		w.mu.Unlock()
		if sb != nil {
			sandbox.KillNetNS(sb.Path)
		}
		out = append(out, w.key)
	}
	return out
}

// Resync delivers the node's pods as the informer has them now, and the
// removals it missed, as the kubelet's own resync would after a restart.
func (m *Manager) Resync(node string) {
	pods, err := m.pods.List(labels.Everything())
	if err != nil {
		klog.Warningf("resync %s: %v", node, err)
	}
	for _, p := range pods {
		if p.Spec.NodeName == node {
			m.onPod(p)
		}
	}
	for _, w := range m.nodeWorkers(node) {
		if m.gone(w) {
			w.stop(stopRemoved, 0)
		}
		w.kickStatus()
	}
}
