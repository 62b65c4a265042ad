// Package svcnames turns Services and EndpointSlices into /etc/hosts lines.
// The test cluster has no DNS and no kube-proxy, so a Service name resolves
// straight to the ready pod IPs behind it, and pods are told to rewrite their
// hosts file whenever that changes.
package svcnames

import (
	"context"
	"log"
	"reflect"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// initialSyncWait bounds how long Start waits for the first full list, so
// that the first Hosts() call is already complete when the apiserver is up,
// without blocking the agent forever when it is not.
const initialSyncWait = 15 * time.Second

// Table is the current Service name table.
type Table struct {
	mu      sync.RWMutex
	model   []service
	changed chan struct{}

	svcLister   func() ([]*corev1.Service, error)
	sliceLister func() ([]*discoveryv1.EndpointSlice, error)
}

// Start watches Services and EndpointSlices in all namespaces until ctx is
// done.
func Start(ctx context.Context, cs kubernetes.Interface) *Table {
	f := informers.NewSharedInformerFactory(cs, 0)
	svcInf := f.Core().V1().Services()
	sliceInf := f.Discovery().V1().EndpointSlices()
	t := &Table{
		changed:     make(chan struct{}),
		svcLister:   func() ([]*corev1.Service, error) { return svcInf.Lister().List(labels.Everything()) },
		sliceLister: func() ([]*discoveryv1.EndpointSlice, error) { return sliceInf.Lister().List(labels.Everything()) },
	}
	// Recompute on every event: the model is small and rebuilding it keeps
	// the event handling trivially correct. Only real changes are broadcast.
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { t.refresh() },
		UpdateFunc: func(any, any) { t.refresh() },
		DeleteFunc: func(any) { t.refresh() },
	}
	svcInf.Informer().AddEventHandler(h)
	sliceInf.Informer().AddEventHandler(h)
	f.Start(ctx.Done())
	go func() {
		<-ctx.Done()
		f.Shutdown()
	}()
	syncCtx, cancel := context.WithTimeout(ctx, initialSyncWait)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), svcInf.Informer().HasSynced, sliceInf.Informer().HasSynced) {
		log.Printf("svcnames: caches not synced after %v; continuing, Changed() fires once they are", initialSyncWait)
	}
	t.refresh()
	return t
}

func (t *Table) refresh() {
	svcs, err1 := t.svcLister()
	slices, err2 := t.sliceLister()
	if err1 != nil || err2 != nil {
		return
	}
	m := buildModel(svcs, slices)
	t.mu.Lock()
	defer t.mu.Unlock()
	if reflect.DeepEqual(m, t.model) {
		return
	}
	t.model = m
	close(t.changed)
	t.changed = make(chan struct{})
}

// Hosts returns the hosts lines ("IP name1 name2 ...") for all Services as
// seen from a pod in namespace: the short name only resolves in the
// Service's own namespace, as with cluster DNS search paths.
func (t *Table) Hosts(namespace string) []byte {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return render(t.model, namespace)
}

// Changed returns a channel that is closed at the next change of the table.
// Call it again after it fires to wait for the following change.
func (t *Table) Changed() <-chan struct{} {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.changed
}
