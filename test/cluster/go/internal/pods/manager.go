// Package pods is the pod runtime: it watches pods bound to this agent's
// nodes and runs each one as a sandbox (network namespace) holding one
// process tree per container, reporting truthful status to the API.
package pods

import (
	"context"
	"path/filepath"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"kpg.local/cluster/internal/images"
	"kpg.local/cluster/internal/volumes"
)

// HostsSource provides Service name lines for pods' /etc/hosts.
type HostsSource interface {
	Hosts(namespace string) []byte
	Changed() <-chan struct{}
}

// Config configures the runtime.
type Config struct {
	CS       kubernetes.Interface
	Nodes    []string
	StateDir string
	// Self is this binary, started as `<Self> shim <spec>` inside the sandbox.
	Self           string
	APIServer      string
	RestartBackoff time.Duration
	Images         images.Resolver
	Hosts          HostsSource
	// Relay starts the in-pod API relay of a pod on node; returns once it
	// listens.
	Relay           func(ctx context.Context, node, netnsPath, listenAddr, target string) error
	NodeAllocatable v1.ResourceList
	Recorder        record.EventRecorder
	// Faults, if set, can make a node lost or silent (fault injection).
	Faults NodeFaults
}

// Manager owns all pod workers.
type Manager struct {
	cfg      Config
	nodes    map[string]int
	pods     corelisters.PodLister
	cms      corelisters.ConfigMapLister
	secrets  corelisters.SecretLister
	synced   []cache.InformerSynced
	ipam     *ipam
	volSrc   *volumes.Sources
	mu       sync.Mutex
	workers  map[types.UID]*worker
	byName   map[string][]*worker // every live instance of ns/name, oldest first
	shutdown bool
	wg       sync.WaitGroup
	mounts   *mountPoints
}

// New registers informer handlers on f; call before f.Start.
func New(cfg Config, f informers.SharedInformerFactory) *Manager {
	m := &Manager{cfg: cfg, nodes: map[string]int{}, ipam: newIPAM(), workers: map[types.UID]*worker{}, byName: map[string][]*worker{}, mounts: newMountPoints()}
	for i, n := range cfg.Nodes {
		m.nodes[n] = i + 1
	}
	pi := f.Core().V1().Pods()
	ci := f.Core().V1().ConfigMaps()
	si := f.Core().V1().Secrets()
	m.pods, m.cms, m.secrets = pi.Lister(), ci.Lister(), si.Lister()
	m.synced = []cache.InformerSynced{pi.Informer().HasSynced, ci.Informer().HasSynced, si.Informer().HasSynced}
	m.volSrc = &volumes.Sources{CS: cfg.CS, ConfigMap: m.ConfigMap, Secret: m.Secret, NodeAllocatable: cfg.NodeAllocatable}
	pi.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { m.onPod(o) },
		UpdateFunc: func(_, o any) { m.onPod(o) },
		DeleteFunc: func(o any) {
			if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = t.Obj
			}
			if p, ok := o.(*v1.Pod); ok {
				m.onPodGone(p)
			}
		},
	})
	return m
}

// ConfigMap reads from the informer cache (NotFound errors pass through).
func (m *Manager) ConfigMap(ns, name string) (*v1.ConfigMap, error) {
	return m.cms.ConfigMaps(ns).Get(name)
}

// Secret reads from the informer cache.
func (m *Manager) Secret(ns, name string) (*v1.Secret, error) {
	return m.secrets.Secrets(ns).Get(name)
}

func (m *Manager) onPod(o any) {
	p, ok := o.(*v1.Pod)
	if !ok {
		return
	}
	idx, ours := m.nodes[p.Spec.NodeName]
	if !ours || m.nodeLost(p.Spec.NodeName) {
		// A lost node's kubelet sees nothing; Resync catches up.
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if w := m.workers[p.UID]; w != nil {
		w.update(p)
		return
	}
	if m.shutdown {
		return
	}
	w := newWorker(m, p, idx)
	key := p.Namespace + "/" + p.Name
	prev := append([]*worker(nil), m.byName[key]...)
	m.workers[p.UID] = w
	m.byName[key] = append(m.byName[key], w)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		w.run(prev)
	}()
}

func (m *Manager) onPodGone(p *v1.Pod) {
	m.mu.Lock()
	w := m.workers[p.UID]
	m.mu.Unlock()
	if w != nil && !m.nodeLost(w.node) {
		w.stop(stopRemoved, 0)
	}
}

// forget drops a finished worker.
func (m *Manager) forget(w *worker) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.workers, w.uid)
	list := m.byName[w.key]
	for i, x := range list {
		if x == w {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(m.byName, w.key)
	} else {
		m.byName[w.key] = list
	}
}

// Run waits for caches, rewrites hosts files on Service changes, and on ctx
// end stops every pod (grace capped at maxGrace) and returns when all are
// torn down.
func (m *Manager) Run(ctx context.Context, maxGrace time.Duration) {
	cache.WaitForCacheSync(ctx.Done(), m.synced...)
	if m.cfg.Hosts != nil {
		go m.hostsLoop(ctx)
	}
	<-ctx.Done()
	m.mu.Lock()
	m.shutdown = true
	ws := make([]*worker, 0, len(m.workers))
	for _, w := range m.workers {
		ws = append(ws, w)
	}
	m.mu.Unlock()
	klog.Infof("stopping %d pods", len(ws))
	for _, w := range ws {
		w.stop(stopShutdown, maxGrace)
	}
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(maxGrace + 15*time.Second):
		klog.Warning("pods did not stop in time")
	}
}

func (m *Manager) hostsLoop(ctx context.Context) {
	followChanges(ctx, m.cfg.Hosts, func() {
		m.mu.Lock()
		ws := make([]*worker, 0, len(m.workers))
		for _, w := range m.workers {
			ws = append(ws, w)
		}
		m.mu.Unlock()
		for _, w := range ws {
			if !m.nodeLost(w.node) {
				w.writeHosts()
			}
		}
	})
}

// followChanges calls apply after every change of src until ctx is done. It
// subscribes to the next change before apply runs: a change that lands while
// apply writes the hosts files would otherwise go unnoticed until a later one,
// and on a quiet cluster there may be none (a new cluster's standbys kept a
// hosts file without the primary Service's address for five minutes).
func followChanges(ctx context.Context, src HostsSource, apply func()) {
	ch := src.Changed()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
		ch = src.Changed()
		apply()
	}
}

func (m *Manager) podDir(uid types.UID) string {
	return filepath.Join(m.cfg.StateDir, "pods", string(uid))
}

func (m *Manager) logDir(p *v1.Pod) string {
	return filepath.Join(m.cfg.StateDir, "logs", "pods", p.Namespace+"_"+p.Name+"_"+string(p.UID))
}
