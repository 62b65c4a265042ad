package pods

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// statusLoop pushes status after changes (coalesced) and every 10 s.
func (w *worker) statusLoop() {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-w.kick:
			time.Sleep(20 * time.Millisecond)
		case <-t.C:
		}
		if err := w.pushStatus(w.ctx); err != nil && w.ctx.Err() == nil {
			klog.Warningf("pod %s/%s: status: %v", w.ns, w.name, err)
		}
	}
}

// pushStatus writes the computed status through the status subresource,
// retrying on conflicts with a fresh object.
func (w *worker) pushStatus(ctx context.Context) error {
	if w.m.nodeSilent(w.node) {
		// Lost or partitioned: the status would not reach the API server.
		return nil
	}
	for attempt := 0; attempt < 5; attempt++ {
		var pod *v1.Pod
		var err error
		if attempt == 0 {
			pod, err = w.m.pods.Pods(w.ns).Get(w.name)
		} else {
			pod, err = w.m.cfg.CS.CoreV1().Pods(w.ns).Get(ctx, w.name, metav1.GetOptions{})
		}
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if pod.UID != w.uid {
			return nil
		}
		st := w.buildStatus(&pod.Status)
		// As the kubelet: the status describes this generation of the spec.
		st.ObservedGeneration = pod.Generation
		for i := range st.Conditions {
			if st.Conditions[i].Type != v1.PodScheduled {
				st.Conditions[i].ObservedGeneration = pod.Generation
			}
		}
		if apiequality.Semantic.DeepEqual(*st, pod.Status) {
			return nil
		}
		np := pod.DeepCopy()
		np.Status = *st
		_, err = w.m.cfg.CS.CoreV1().Pods(w.ns).UpdateStatus(ctx, np, metav1.UpdateOptions{})
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsConflict(err) {
			return err
		}
	}
	return fmt.Errorf("too many conflicts")
}

// phaseLocked follows the kubelet's getPhase.
func (w *worker) phaseLocked() v1.PodPhase {
	if w.terminal != "" {
		return w.terminal
	}
	if !w.initialized {
		return v1.PodPending
	}
	var running, waiting, stopped, succeeded, total int
	for _, c := range w.ctrs {
		if c.init {
			continue
		}
		total++
		switch {
		case c.state.Running != nil:
			running++
		case c.state.Terminated != nil:
			stopped++
			if c.state.Terminated.ExitCode == 0 {
				succeeded++
			}
		case c.last.Terminated != nil:
			stopped++
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return v1.PodPending
	case running > 0:
		return v1.PodRunning
	case stopped == total && total > 0:
		switch w.pod.Spec.RestartPolicy {
		case v1.RestartPolicyAlways:
			return v1.PodRunning
		case v1.RestartPolicyOnFailure:
			if succeeded == stopped {
				return v1.PodSucceeded
			}
			return v1.PodRunning
		default:
			if succeeded == stopped {
				return v1.PodSucceeded
			}
			return v1.PodFailed
		}
	}
	return v1.PodPending
}

func (c *ctr) statusLocked() v1.ContainerStatus {
	st := v1.ContainerStatus{
		Name: c.spec.Name, Image: c.spec.Image, ImageID: c.imageID,
		Ready: c.ready && c.running, RestartCount: c.restarts,
		State: *c.state.DeepCopy(), LastTerminationState: *c.last.DeepCopy(),
	}
	if c.id != "" && (c.state.Running != nil || c.state.Terminated != nil) {
		st.ContainerID = "kpg://" + c.id
	}
	started := c.running && c.started
	st.Started = &started
	return st
}

// buildStatus computes the status from the runtime's view, keeping fields
// and conditions owned by others (PodScheduled, DisruptionTarget, gates).
func (w *worker) buildStatus(base *v1.PodStatus) *v1.PodStatus {
	st := base.DeepCopy()
	w.mu.Lock()
	defer w.mu.Unlock()
	st.HostIP, st.HostIPs = "127.0.0.1", []v1.HostIP{{IP: "127.0.0.1"}}
	if w.podIP != "" {
		st.PodIP, st.PodIPs = w.podIP, []v1.PodIP{{IP: w.podIP}}
	}
	if w.startTime != nil {
		st.StartTime = w.startTime
	}
	st.InitContainerStatuses, st.ContainerStatuses = nil, nil
	var unready, uninit []string
	for _, c := range w.ctrs {
		cs := c.statusLocked()
		if c.init {
			st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
			done := (c.state.Terminated != nil && c.state.Terminated.ExitCode == 0) || (c.sidecar() && cs.Started != nil && *cs.Started)
			if !done && !w.initialized {
				uninit = append(uninit, c.spec.Name)
			}
			if c.sidecar() && !cs.Ready {
				unready = append(unready, c.spec.Name)
			}
			continue
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
		if !cs.Ready {
			unready = append(unready, c.spec.Name)
		}
	}
	phase := w.phaseLocked()
	st.Phase = phase
	terminal := phase == v1.PodSucceeded || phase == v1.PodFailed
	cond := func(t v1.PodConditionType, ok bool, reason, msg string) {
		setCondition(st, t, ok, reason, msg)
	}
	cond(v1.PodReadyToStartContainers, w.sandboxReady, "", "")
	if w.initialized || len(uninit) == 0 && w.initialized {
		cond(v1.PodInitialized, true, "", "")
	} else if terminal {
		cond(v1.PodInitialized, false, "PodCompleted", "")
	} else {
		cond(v1.PodInitialized, false, "ContainersNotInitialized", fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(uninit, " ")))
	}
	switch {
	case terminal:
		cond(v1.ContainersReady, false, "PodCompleted", "")
		cond(v1.PodReady, false, "PodCompleted", "")
	case len(unready) > 0:
		msg := fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
		cond(v1.ContainersReady, false, "ContainersNotReady", msg)
		cond(v1.PodReady, false, "ContainersNotReady", msg)
	default:
		cond(v1.ContainersReady, true, "", "")
		if missing := gatesMissing(w.pod, st); len(missing) > 0 {
			cond(v1.PodReady, false, "ReadinessGatesNotReady", fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", missing[0]))
		} else {
			cond(v1.PodReady, true, "", "")
		}
	}
	sort.SliceStable(st.Conditions, func(i, j int) bool { return condOrder(st.Conditions[i].Type) < condOrder(st.Conditions[j].Type) })
	return st
}

func condOrder(t v1.PodConditionType) int {
	for i, x := range []v1.PodConditionType{v1.PodReadyToStartContainers, v1.PodInitialized, v1.PodReady, v1.ContainersReady, v1.PodScheduled} {
		if x == t {
			return i
		}
	}
	return 10
}

func gatesMissing(p *v1.Pod, st *v1.PodStatus) []string {
	var out []string
	for _, g := range p.Spec.ReadinessGates {
		ok := false
		for _, c := range st.Conditions {
			if c.Type == g.ConditionType && c.Status == v1.ConditionTrue {
				ok = true
			}
		}
		if !ok {
			out = append(out, string(g.ConditionType))
		}
	}
	return out
}

// setCondition updates or adds a condition, moving lastTransitionTime only
// when the status flips.
func setCondition(st *v1.PodStatus, t v1.PodConditionType, ok bool, reason, msg string) {
	s := v1.ConditionFalse
	if ok {
		s = v1.ConditionTrue
	}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type != t {
			continue
		}
		if c.Status != s {
			c.LastTransitionTime = metav1.Now()
		}
		c.Status, c.Reason, c.Message = s, reason, msg
		return
	}
	st.Conditions = append(st.Conditions, v1.PodCondition{Type: t, Status: s, Reason: reason, Message: msg, LastTransitionTime: metav1.Now()})
}
