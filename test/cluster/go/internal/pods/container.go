package pods

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"kpg.local/cluster/internal/backoff"
)

// maxBackoff is the kubelet's cap on restart and image pull back-off.
const maxBackoff = 300 * time.Second

// ctr is one container of a pod across its restarts. Fields below mu are
// guarded by the worker's mu.
type ctr struct {
	w    *worker
	spec *v1.Container
	init bool
	bo   *backoff.Backoff
	// killCh carries liveness/startup failures to the running instance.
	killCh chan string
	// startedCh is closed once a sidecar is running and started.
	startedCh chan struct{}

	state    v1.ContainerState
	last     v1.ContainerState
	restarts int32
	ran      bool
	// done: finished for good under a previous agent.
	done    bool
	ready   bool
	started bool
	id      string
	imageID string
	pid     int
	running bool
	exec    execInfo
	logPath string
	prevLog string
}

// execInfo is how to enter a running container.
type execInfo struct {
	uid, gid uint32
	groups   []uint32
	env      []string
	workDir  string
}

func newCtr(w *worker, spec *v1.Container, init bool) *ctr {
	reason := "ContainerCreating"
	if !init && len(w.pod.Spec.InitContainers) > 0 {
		reason = "PodInitializing"
	}
	return &ctr{
		w: w, spec: spec, init: init,
		bo:        backoff.New(w.m.cfg.RestartBackoff, maxBackoff),
		killCh:    make(chan string, 1),
		startedCh: make(chan struct{}),
		state:     v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reason}},
	}
}

// carryOver continues a pod that a previous agent ran: restart counts go on,
// and a container that finished for good (by its restart policy) keeps its
// terminated state instead of running again, which the API would reject.
func (w *worker) carryOver(p *v1.Pod) {
	all := append(append([]v1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, c := range w.ctrs {
		for _, st := range all {
			if st.Name != c.spec.Name {
				continue
			}
			if st.State.Running != nil || st.State.Terminated != nil || st.RestartCount > 0 {
				c.restarts, c.ran = st.RestartCount, true
				c.last = st.LastTerminationState
			}
			if t := st.State.Terminated; t != nil && !c.restartable(t.ExitCode) {
				c.state, c.done = st.State, true
			}
		}
	}
}

// restartable tells whether an instance that exited with code runs again.
func (c *ctr) restartable(code int32) bool {
	switch {
	case c.sidecar():
		return true
	case c.init:
		return code != 0 && c.w.pod.Spec.RestartPolicy != v1.RestartPolicyNever
	}
	switch c.w.pod.Spec.RestartPolicy {
	case v1.RestartPolicyNever:
		return false
	case v1.RestartPolicyOnFailure:
		return code != 0
	}
	return true
}

func (c *ctr) sidecar() bool {
	return c.init && c.spec.RestartPolicy != nil && *c.spec.RestartPolicy == v1.ContainerRestartPolicyAlways
}

// waitStarted blocks until a sidecar is started; false if the pod stops.
func (c *ctr) waitStarted() bool {
	select {
	case <-c.startedCh:
		return true
	case <-c.w.stopCh:
		return false
	}
}

func (c *ctr) setWaiting(reason, msg string) {
	c.w.mu.Lock()
	c.state = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reason, Message: msg}}
	c.ready = false
	c.w.mu.Unlock()
	c.w.kickStatus()
}

func (c *ctr) requestKill(msg string) {
	select {
	case c.killCh <- msg:
	default:
	}
}

// loop runs the container until it must not run again. For a regular init
// container it returns true once an instance exited 0.
func (c *ctr) loop() bool {
	w := c.w
	pullBackoff := 10 * time.Second
	if c.done {
		return c.state.Terminated.ExitCode == 0
	}
	for {
		w.m.waitNodeUp(w)
		if w.stopping() {
			return false
		}
		img, err := w.m.cfg.Images.Resolve(c.spec.Image)
		if err != nil {
			c.setWaiting("ErrImagePull", err.Error())
			w.event(v1.EventTypeWarning, "Failed", "Failed to pull image %q: %v", c.spec.Image, err)
			if !w.sleep(2 * time.Second) {
				return false
			}
			c.setWaiting("ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q: %v", c.spec.Image, err))
			if !w.sleep(pullBackoff) {
				return false
			}
			pullBackoff = min(pullBackoff*2, maxBackoff)
			continue
		}
		w.event(v1.EventTypeNormal, "Pulled", "Container image %q already present on machine", c.spec.Image)
		spec, info, err := c.prepare(img)
		if err != nil {
			c.setWaiting("CreateContainerConfigError", err.Error())
			w.event(v1.EventTypeWarning, "Failed", "Error: %v", err)
			if !w.sleep(2 * time.Second) {
				return false
			}
			continue
		}
		w.mu.Lock()
		n := c.restarts
		if c.ran {
			n++
		}
		c.imageID = img.ID
		w.mu.Unlock()
		code := c.runInstance(spec, info, n)
		if w.stopping() {
			return false
		}
		if c.sidecar() && c.w.terminalPhase() != "" {
			return false
		}
		if !c.restartable(int32(code)) {
			return code == 0
		}
		w.mu.Lock()
		finished := c.state.Terminated.FinishedAt.Time
		w.mu.Unlock()
		wait, period := c.bo.Next(finished, time.Now())
		if wait > 0 {
			msg := fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", period, c.spec.Name, w.name, w.ns, w.uid)
			w.mu.Lock()
			c.last = c.state
			w.mu.Unlock()
			c.setWaiting("CrashLoopBackOff", msg)
			w.event(v1.EventTypeWarning, "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)", c.spec.Name, w.name, w.ns, w.uid)
			if !w.sleep(wait) {
				return false
			}
		}
	}
}

// runInstance starts one instance and blocks until it is gone; it returns
// the exit code.
//
// The state file is always written before the status is pushed, so a test
// that sees restartCount change in the API finds the new pid in the file.
func (c *ctr) runInstance(spec *shimSpec, info execInfo, restarts int32) int {
	w := c.w
	p, startErr := c.start(spec, restarts)
	now := metav1.Now()
	if startErr != nil {
		if p != nil {
			<-p.exited
		}
		w.mu.Lock()
		c.restarts, c.ran = restarts, true
		c.last = c.lastOf()
		c.state = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 128, Reason: "StartError", Message: startErr.Error(), StartedAt: now, FinishedAt: now, ContainerID: "kpg://" + c.id}}
		c.ready, c.started = false, false
		w.saveStateLocked()
		w.mu.Unlock()
		w.event(v1.EventTypeWarning, "Failed", "Error: %v", startErr)
		w.kickStatus()
		return 128
	}
	w.mu.Lock()
	c.restarts, c.ran = restarts, true
	c.last = c.lastOf()
	c.state = v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: now}}
	c.pid, c.running, c.exec = p.pid, true, info
	c.started = c.spec.StartupProbe == nil
	c.ready = false
	w.saveStateLocked()
	w.mu.Unlock()
	w.event(v1.EventTypeNormal, "Created", "Created container: %s", c.spec.Name)
	w.event(v1.EventTypeNormal, "Started", "Started container %s", c.spec.Name)
	w.kickStatus()
	pctx, pcancel := context.WithCancel(w.ctx)
	c.startProbes(pctx, p)
	if c.started && c.sidecar() {
		c.markStarted()
	}
	select {
	case <-p.exited:
	case <-w.stopCh:
		if c.sidecar() {
			// As the kubelet does: sidecars serve the main containers until
			// those are gone, and only then get their SIGTERM.
			w.waitAppsGone(p, w.stopDeadline())
		}
		c.terminate(p, w.stopDeadline(), true)
	case msg := <-c.killCh:
		w.event(v1.EventTypeNormal, "Killing", "%s", msg)
		c.terminate(p, time.Now().Add(c.killGrace()), true)
	}
	<-p.exited
	pcancel()
	code := p.exitCode
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	w.mu.Lock()
	c.state = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
		ExitCode: int32(code), Signal: int32(p.signal), Reason: reason, Message: c.terminationMessage(code),
		StartedAt: now, FinishedAt: metav1.NewTime(p.finishedAt), ContainerID: "kpg://" + c.id,
	}}
	c.pid, c.running, c.ready = 0, false, false
	w.saveStateLocked()
	w.mu.Unlock()
	klog.Infof("pod %s/%s container %s exited with %d", w.ns, w.name, c.spec.Name, code)
	w.kickStatus()
	return code
}

// lastOf is the lastState a new instance reports: the previous instance's
// termination, if any.
func (c *ctr) lastOf() v1.ContainerState {
	if c.state.Terminated != nil {
		return c.state
	}
	return c.last
}

func (c *ctr) markStarted() {
	select {
	case <-c.startedCh:
	default:
		close(c.startedCh)
	}
}

// killGrace is the grace for a kill after a failed probe.
func (c *ctr) killGrace() time.Duration {
	if lp := c.spec.LivenessProbe; lp != nil && lp.TerminationGracePeriodSeconds != nil {
		return time.Duration(*lp.TerminationGracePeriodSeconds) * time.Second
	}
	p := c.w.currentPod()
	if p.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*p.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// terminationMessage reads the termination log, falling back to the tail of
// the container log when the policy asks for it.
func (c *ctr) terminationMessage(code int) string {
	b, _ := os.ReadFile(filepath.Join(c.dir(), "termination-log"))
	if len(b) > 4096 {
		b = b[:4096]
	}
	if len(b) == 0 && code != 0 && c.spec.TerminationMessagePolicy == v1.TerminationMessageFallbackToLogsOnError {
		b = tailLog(c.logPath, 80, 2048)
	}
	return string(b)
}

func (c *ctr) dir() string {
	return filepath.Join(c.w.dir(), "containers", c.spec.Name)
}

func (w *worker) terminalPhase() v1.PodPhase {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.terminal
}

// waitAppsGone blocks until no main container runs, the sidecar p exits by
// itself, or the deadline passes.
func (w *worker) waitAppsGone(p *proc, deadline time.Time) {
	for time.Now().Before(deadline) {
		running := false
		w.mu.Lock()
		for _, c := range w.ctrs {
			running = running || (!c.init && c.running)
		}
		w.mu.Unlock()
		if !running {
			return
		}
		select {
		case <-p.exited:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}
