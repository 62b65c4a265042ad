package pods

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"kpg.local/cluster/internal/hostsfile"
	"kpg.local/cluster/internal/sandbox"
	"kpg.local/cluster/internal/volumes"
)

type stopReason int

const (
	stopNone stopReason = iota
	// stopDeleted: the pod has a deletionTimestamp; we delete the object
	// once everything is gone.
	stopDeleted
	// stopRemoved: the object vanished from the API (force delete).
	stopRemoved
	// stopShutdown: the agent is exiting.
	stopShutdown
)

// removedGrace is the kubelet's minimum grace for pods that vanished.
const removedGrace = 2 * time.Second

// worker runs one pod instance (one UID) from sandbox creation to teardown.
type worker struct {
	m       *Manager
	uid     types.UID
	ns      string
	name    string
	key     string
	node    string
	nodeIdx int
	ctx     context.Context
	cancel  context.CancelFunc
	kick    chan struct{}
	done    chan struct{}
	runners sync.WaitGroup

	mu           sync.Mutex
	pod          *v1.Pod
	podIP        string
	sb           *sandbox.Sandbox
	vols         *volumes.Set
	ctrs         []*ctr
	startTime    *metav1.Time
	sandboxReady bool
	initialized  bool
	terminal     v1.PodPhase
	reason       stopReason
	stopCh       chan struct{}
	deadline     time.Time
	relayCancel  context.CancelFunc
}

func newWorker(m *Manager, p *v1.Pod, idx int) *worker {
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{
		m: m, uid: p.UID, ns: p.Namespace, name: p.Name, key: p.Namespace + "/" + p.Name,
		node: p.Spec.NodeName, nodeIdx: idx, ctx: ctx, cancel: cancel,
		kick: make(chan struct{}, 1), done: make(chan struct{}), stopCh: make(chan struct{}), pod: p,
	}
	for i := range p.Spec.InitContainers {
		w.ctrs = append(w.ctrs, newCtr(w, &p.Spec.InitContainers[i], true))
	}
	for i := range p.Spec.Containers {
		w.ctrs = append(w.ctrs, newCtr(w, &p.Spec.Containers[i], false))
	}
	w.carryOver(p)
	if p.DeletionTimestamp != nil {
		w.stopLocked(stopDeleted, grace(p))
	}
	return w
}

func grace(p *v1.Pod) time.Duration {
	if p.DeletionGracePeriodSeconds != nil {
		return time.Duration(*p.DeletionGracePeriodSeconds) * time.Second
	}
	if p.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*p.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// update is called with every informer update of the pod.
func (w *worker) update(p *v1.Pod) {
	w.mu.Lock()
	w.pod = p
	if w.vols != nil {
		w.vols.SetPod(p)
	}
	if p.DeletionTimestamp != nil {
		w.stopLocked(stopDeleted, grace(p))
	}
	w.mu.Unlock()
	w.kickStatus()
}

// stop asks the worker to terminate its containers within grace (0: the
// reason's default).
func (w *worker) stop(r stopReason, g time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch r {
	case stopRemoved:
		g = removedGrace
	case stopShutdown:
		if pg := grace(w.pod); pg < g {
			g = pg
		}
	}
	w.stopLocked(r, g)
}

func (w *worker) stopLocked(r stopReason, g time.Duration) {
	// The kubelet's minimum: even a force delete gets a moment for SIGTERM.
	if g < removedGrace {
		g = removedGrace
	}
	dl := time.Now().Add(g)
	if w.reason != stopNone {
		// A later, shorter deadline (e.g. force delete during a graceful
		// one) wins, as in the kubelet.
		if dl.Before(w.deadline) {
			w.deadline = dl
		}
		if r == stopRemoved {
			w.reason = stopRemoved
		}
		return
	}
	w.reason, w.deadline = r, dl
	close(w.stopCh)
	klog.Infof("pod %s/%s (%s): stopping (reason %d, grace %s)", w.ns, w.name, w.uid, r, g)
}

func (w *worker) stopping() bool {
	select {
	case <-w.stopCh:
		return true
	default:
		return false
	}
}

func (w *worker) stopDeadline() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.deadline
}

// sleep waits d unless the pod is being stopped first.
func (w *worker) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.stopCh:
		return false
	case <-t.C:
		return true
	}
}

func (w *worker) kickStatus() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *worker) dir() string { return w.m.podDir(w.uid) }

func (w *worker) run(prev []*worker) {
	defer w.m.forget(w)
	defer close(w.done)
	go w.statusLoop()
	// Never run two instances of ns/name at once: the older one's processes
	// (and its claim on volumes) must be gone first.
	for _, p := range prev {
		select {
		case <-p.done:
		case <-w.stopCh:
		}
	}
	if ph := w.pod.Status.Phase; (ph == v1.PodSucceeded || ph == v1.PodFailed) && !w.stopping() {
		// Finished before this agent started; nothing to run.
		w.mu.Lock()
		w.terminal = ph
		w.mu.Unlock()
		<-w.stopCh
	}
	if !w.stopping() && w.terminal == "" {
		w.start()
	}
	// A finished pod keeps its object (and status) until it is deleted.
	<-w.stopCh
	w.finish()
}

func (w *worker) start() {
	w.mu.Lock()
	if st := w.pod.Status.StartTime; st != nil {
		w.startTime = st
	} else {
		now := metav1.Now()
		w.startTime = &now
	}
	w.mu.Unlock()
	w.kickStatus()
	if !w.retry(w.setupSandbox) || !w.retry(w.setupVolumes) {
		return
	}
	go w.refreshLoop()
	var inits, apps []*ctr
	for _, c := range w.ctrs {
		if c.init {
			inits = append(inits, c)
		} else {
			apps = append(apps, c)
		}
	}
	for _, c := range inits {
		if c.sidecar() {
			w.runners.Add(1)
			go func() { defer w.runners.Done(); c.loop() }()
			if !c.waitStarted() {
				return
			}
			continue
		}
		if !c.loop() {
			if !w.stopping() {
				w.setTerminal(v1.PodFailed)
			}
			return
		}
	}
	w.mu.Lock()
	w.initialized = true
	w.mu.Unlock()
	w.kickStatus()
	var apprun sync.WaitGroup
	for _, c := range apps {
		w.runners.Add(1)
		apprun.Add(1)
		go func() { defer w.runners.Done(); defer apprun.Done(); c.loop() }()
	}
	apprun.Wait()
	if !w.stopping() {
		w.mu.Lock()
		ph := w.phaseLocked()
		w.mu.Unlock()
		w.setTerminal(ph)
	}
}

// setTerminal records Succeeded/Failed and frees the sandbox, like the
// kubelet does for finished pods; the object stays until deleted.
func (w *worker) setTerminal(ph v1.PodPhase) {
	w.mu.Lock()
	w.terminal = ph
	w.mu.Unlock()
	klog.Infof("pod %s/%s: %s", w.ns, w.name, ph)
	w.stopSidecars()
	w.runners.Wait()
	// The IP stays reserved: a finished pod keeps reporting it until deleted.
	w.teardown(false)
	w.kickStatus()
}

// stopSidecars terminates restartable init containers once the pod is done.
func (w *worker) stopSidecars() {
	for _, c := range w.ctrs {
		if c.sidecar() {
			c.requestKill("pod finished")
		}
	}
}

// retry runs fn until it succeeds, showing its error as the containers'
// waiting message; false means the pod is being stopped.
func (w *worker) retry(fn func() error) bool {
	for {
		err := fn()
		if err == nil {
			return true
		}
		var we *volumes.WaitError
		if !errors.As(err, &we) {
			klog.Warningf("pod %s/%s: %v", w.ns, w.name, err)
		}
		w.mu.Lock()
		for _, c := range w.ctrs {
			c.state = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "ContainerCreating", Message: err.Error()}}
		}
		w.mu.Unlock()
		w.kickStatus()
		if !w.sleep(2 * time.Second) {
			return false
		}
	}
}

func (w *worker) setupSandbox() error {
	w.mu.Lock()
	done := w.sb != nil
	w.mu.Unlock()
	if done {
		return nil
	}
	ip, err := w.m.ipam.alloc(w.nodeIdx, string(w.uid))
	if err != nil {
		return err
	}
	// Remove a leftover of the same UID (e.g. from an agent that crashed).
	name, _ := sandbox.Names(string(w.uid))
	(&sandbox.Sandbox{Name: name, Path: filepath.Join(sandbox.NetNSDir, name), HostVeth: "kpgv" + name[len(sandbox.NamePrefix):]}).Destroy()
	sb, err := sandbox.Create(string(w.uid), ip)
	if err != nil {
		w.m.ipam.release(ip)
		return fmt.Errorf("create pod sandbox: %w", err)
	}
	if sp := w.currentPod().Spec.ShareProcessNamespace; sp != nil && *sp {
		if err := sb.StartPause(w.m.cfg.Self); err != nil {
			sb.Destroy()
			w.m.ipam.release(ip)
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(w.dir(), "etc"), 0o755); err != nil {
		return err
	}
	w.mu.Lock()
	w.sb, w.podIP = sb, ip
	w.mu.Unlock()
	w.writeHosts()
	pod := w.currentPod()
	files := map[string][]byte{"resolv.conf": hostsfile.Resolv(w.ns), "hostname": []byte(hostname(pod) + "\n")}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(w.dir(), "etc", n), b, 0o644); err != nil {
			return err
		}
	}
	if w.m.cfg.Relay != nil {
		rctx, cancel := context.WithCancel(w.ctx)
		if err := w.m.cfg.Relay(rctx, w.node, sb.Path, "127.0.0.1:6443", w.m.cfg.APIServer); err != nil {
			cancel()
			klog.Warningf("pod %s/%s: API relay: %v", w.ns, w.name, err)
		} else {
			w.mu.Lock()
			w.relayCancel = cancel
			w.mu.Unlock()
		}
	}
	w.mu.Lock()
	w.sandboxReady = true
	w.mu.Unlock()
	w.saveState()
	w.kickStatus()
	return nil
}

func (w *worker) currentPod() *v1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

func hostname(p *v1.Pod) string {
	h := p.Spec.Hostname
	if h == "" {
		h = p.Name
	}
	if len(h) > 63 {
		h = h[:63]
	}
	return h
}

// writeHosts renders /etc/hosts for the pod in place (it is bind-mounted).
func (w *worker) writeHosts() {
	w.mu.Lock()
	ip, pod, ready := w.podIP, w.pod, w.sb != nil
	w.mu.Unlock()
	if !ready {
		return
	}
	h := hostname(pod)
	fqdn := ""
	if pod.Spec.Subdomain != "" {
		fqdn = fmt.Sprintf("%s.%s.%s.svc.cluster.local", h, pod.Spec.Subdomain, pod.Namespace)
	}
	var svc []byte
	if w.m.cfg.Hosts != nil {
		svc = w.m.cfg.Hosts.Hosts(pod.Namespace)
	}
	if err := hostsfile.WriteInPlace(filepath.Join(w.dir(), "etc", "hosts"), hostsfile.Hosts(ip, h, fqdn, svc), 0o644); err != nil {
		klog.Warningf("pod %s/%s: hosts: %v", w.ns, w.name, err)
	}
}

func (w *worker) setupVolumes() error {
	w.mu.Lock()
	if w.vols == nil {
		w.vols = volumes.New(w.m.volSrc, w.pod, filepath.Join(w.dir(), "volumes"), []string{w.podIP})
	}
	vols := w.vols
	w.mu.Unlock()
	return vols.Setup(w.ctx)
}

// refreshLoop keeps configMap/secret/downward API/projected volumes current.
func (w *worker) refreshLoop() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-w.stopCh:
			return
		case <-t.C:
			w.mu.Lock()
			vols := w.vols
			w.mu.Unlock()
			if vols == nil {
				return
			}
			if !w.m.nodeLost(w.node) {
				vols.Refresh(w.ctx)
			}
		}
	}
}

// teardown removes every trace of the sandbox; safe to call twice. The pod
// IP goes back to the pool only with releaseIP.
func (w *worker) teardown(releaseIP bool) {
	w.mu.Lock()
	sb, vols, ip, rc := w.sb, w.vols, w.podIP, w.relayCancel
	w.sb, w.vols, w.relayCancel, w.sandboxReady = nil, nil, nil, false
	w.mu.Unlock()
	if rc != nil {
		// The relay's listening socket pins the netns; close it first.
		rc()
	}
	if sb != nil {
		sandbox.KillNetNS(sb.Path)
		if err := sb.Destroy(); err != nil {
			klog.Warningf("pod %s/%s: destroy sandbox: %v", w.ns, w.name, err)
		}
	}
	if releaseIP && ip != "" {
		w.m.ipam.release(ip)
	}
	if vols != nil {
		if err := vols.Teardown(); err != nil {
			klog.Warningf("pod %s/%s: volumes: %v", w.ns, w.name, err)
		}
	}
	w.removeState()
}

// finish runs once the pod must stop: containers are terminated by their
// runners (preStop, SIGTERM, grace, SIGKILL); then leftovers in the netns
// die, the sandbox goes, and for a deleted pod the object is removed.
func (w *worker) finish() {
	// stopCh is closed: every container, sidecars last, is terminating.
	w.runners.Wait()
	w.teardown(true)
	os.RemoveAll(w.dir())
	w.mu.Lock()
	reason := w.reason
	w.mu.Unlock()
	if reason == stopDeleted {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		w.pushStatus(ctx)
		zero := int64(0)
		uid := w.uid
		err := w.m.cfg.CS.CoreV1().Pods(w.ns).Delete(ctx, w.name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			klog.Warningf("pod %s/%s: delete: %v", w.ns, w.name, err)
		}
		cancel()
	}
	w.cancel()
	klog.Infof("pod %s/%s (%s): gone", w.ns, w.name, w.uid)
}
