// Package provisioner provisions hostPath PersistentVolumes for claims of
// StorageClasses whose provisioner is kpg.local/hostpath, and deletes them
// when released. The in-tree PV controller does the binding; this is the
// "external provisioner" half, reduced to a directory per volume.
package provisioner

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

type controller struct {
	cs      kubernetes.Interface
	pvDir   string
	pvcs    corelisters.PersistentVolumeClaimLister
	pvs     corelisters.PersistentVolumeLister
	classes storagelisters.StorageClassLister
	queue   workqueue.TypedRateLimitingInterface[string]
}

// Run provisions and deletes volumes under pvDir until ctx is done.
func Run(ctx context.Context, cs kubernetes.Interface, pvDir string) error {
	if err := os.MkdirAll(pvDir, 0o755); err != nil {
		return err
	}
	f := informers.NewSharedInformerFactory(cs, 10*time.Minute)
	pvcInf := f.Core().V1().PersistentVolumeClaims()
	pvInf := f.Core().V1().PersistentVolumes()
	classInf := f.Storage().V1().StorageClasses()
	c := &controller{
		cs: cs, pvDir: pvDir,
		pvcs: pvcInf.Lister(), pvs: pvInf.Lister(), classes: classInf.Lister(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 30*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "kpg-provisioner"}),
	}
	defer c.queue.ShutDown()
	enqueue := func(prefix string) cache.ResourceEventHandlerFuncs {
		add := func(obj any) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				c.queue.Add(prefix + key)
			}
		}
		return cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, o any) { add(o) }, DeleteFunc: add}
	}
	pvcInf.Informer().AddEventHandler(enqueue("pvc/"))
	pvInf.Informer().AddEventHandler(enqueue("pv/"))
	// A class created after its claims (or changed) must retrigger them.
	classInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(any) { c.enqueueAllClaims() }})
	f.Start(ctx.Done())
	defer f.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), pvcInf.Informer().HasSynced, pvInf.Informer().HasSynced, classInf.Informer().HasSynced) {
		return nil // ctx done
	}
	go wait.UntilWithContext(ctx, c.worker, time.Second)
	<-ctx.Done()
	return nil
}

func (c *controller) enqueueAllClaims() {
	pvcs, _ := c.pvcs.List(labels.Everything())
	for _, p := range pvcs {
		c.queue.Add("pvc/" + p.Namespace + "/" + p.Name)
	}
}

func (c *controller) worker(ctx context.Context) {
	for {
		key, quit := c.queue.Get()
		if quit {
			return
		}
		err := c.sync(ctx, key)
		if err != nil {
			log.Printf("provisioner: %s: %v (retrying)", key, err)
			c.queue.AddRateLimited(key)
		} else {
			c.queue.Forget(key)
		}
		c.queue.Done(key)
	}
}

func (c *controller) sync(ctx context.Context, key string) error {
	kind, rest, _ := strings.Cut(key, "/")
	if kind == "pv" {
		return c.syncPV(ctx, rest)
	}
	ns, name, err := cache.SplitMetaNamespaceKey(rest)
	if err != nil {
		return nil
	}
	return c.syncPVC(ctx, ns, name)
}

func (c *controller) syncPVC(ctx context.Context, ns, name string) error {
	pvc, err := c.pvcs.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	className := ""
	if pvc.Spec.StorageClassName != nil {
		className = *pvc.Spec.StorageClassName
	}
	class, err := c.classes.Get(className)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if ok, _ := wantsProvisioning(pvc, class); !ok {
		return nil
	}
	if pv, err := c.pvs.Get(pvName(pvc)); err == nil {
		if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != pvc.UID {
			return fmt.Errorf("PV %s exists but is not for this claim", pv.Name)
		}
		return nil // already provisioned; the PV controller binds it
	}
	dir := volumeDir(c.pvDir, pvc)
	pv, err := buildPV(pvc, class, dir)
	if err != nil {
		log.Printf("provisioner: %s/%s: %v", ns, name, err)
		return nil // retrying cannot help until the claim changes
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	// Any pod user must be able to write: chmod past the umask.
	if err := os.Chmod(dir, 0o777); err != nil {
		return err
	}
	_, err = c.cs.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return err
	}
	log.Printf("provisioner: created PV %s (%s) for %s/%s", pv.Name, dir, ns, name)
	return nil
}

func (c *controller) syncPV(ctx context.Context, name string) error {
	pv, err := c.pvs.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	dir := deletableDir(pv, c.pvDir)
	if dir == "" || pv.DeletionTimestamp != nil {
		return nil
	}
	// Directory first: if we crash in between, the PV is still there and
	// Released, so the next run retries; the other order could leak data.
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	uid := pv.UID
	err = c.cs.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	log.Printf("provisioner: deleted released PV %s and %s", pv.Name, dir)
	return nil
}
