// Package node registers the agent's fake nodes and keeps them healthy in
// the eyes of the node lifecycle controller: a Lease renewed every 10 s and
// node status with fresh heartbeats.
package node

import (
	"context"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
)

// Spec describes one node.
type Spec struct {
	Name        string
	KubeletPort int32
	PodCIDR     string
}

// Capacity is what every node reports (allocatable is the same).
var Capacity = v1.ResourceList{
	v1.ResourceCPU:              resource.MustParse("4"),
	v1.ResourceMemory:           resource.MustParse("8Gi"),
	v1.ResourcePods:             resource.MustParse("110"),
	v1.ResourceEphemeralStorage: resource.MustParse("50Gi"),
}

// The node lifecycle controller runs with a short grace period in this
// cluster (cluster.sh: --node-monitor-grace-period=15s), so a lost node is
// NotReady quickly; leases are renewed often enough that a healthy but busy
// node never comes near it.
const (
	// LeaseRenew is how often every node's lease is renewed.
	LeaseRenew = 2 * time.Second
	// StatusEvery: node status is posted every this many lease renewals.
	StatusEvery   = 5
	leaseDuration = 40
	leaseNS       = "kube-node-lease"
)

func labels(name string) map[string]string {
	return map[string]string{
		"kubernetes.io/hostname":           name,
		"kubernetes.io/os":                 "linux",
		"kubernetes.io/arch":               "amd64",
		"beta.kubernetes.io/os":            "linux",
		"beta.kubernetes.io/arch":          "amd64",
		"node.kubernetes.io/instance-type": "kpg-local",
	}
}

func conditions(now metav1.Time, prev []v1.NodeCondition) []v1.NodeCondition {
	want := []v1.NodeCondition{
		{Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady", Message: "kpg-node is posting ready status"},
		{Type: v1.NodeMemoryPressure, Status: v1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: v1.NodeDiskPressure, Status: v1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: v1.NodePIDPressure, Status: v1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
	}
	for i := range want {
		want[i].LastHeartbeatTime = now
		want[i].LastTransitionTime = now
		for _, p := range prev {
			if p.Type == want[i].Type && p.Status == want[i].Status {
				want[i].LastTransitionTime = p.LastTransitionTime
			}
		}
	}
	return want
}

func status(s Spec, now metav1.Time, prev []v1.NodeCondition) v1.NodeStatus {
	return v1.NodeStatus{
		Capacity:    Capacity.DeepCopy(),
		Allocatable: Capacity.DeepCopy(),
		Phase:       v1.NodeRunning,
		Conditions:  conditions(now, prev),
		Addresses: []v1.NodeAddress{
			{Type: v1.NodeInternalIP, Address: "127.0.0.1"},
			{Type: v1.NodeHostName, Address: s.Name},
		},
		DaemonEndpoints: v1.NodeDaemonEndpoints{KubeletEndpoint: v1.DaemonEndpoint{Port: s.KubeletPort}},
		NodeInfo: v1.NodeSystemInfo{
			MachineID: "kpg-" + s.Name, SystemUUID: "kpg-" + s.Name, BootID: "kpg-" + s.Name,
			KernelVersion: kernel(), OSImage: "Debian GNU/Linux 12 (bookworm)",
			ContainerRuntimeVersion: "kpg://0.1", KubeletVersion: "v1.36.3", KubeProxyVersion: "v1.36.3",
			OperatingSystem: "linux", Architecture: "amd64",
		},
	}
}

// Register creates or refreshes the Node object, Ready from the start (so the
// lifecycle controller never taints it not-ready).
func Register(ctx context.Context, cs kubernetes.Interface, s Spec) error {
	now := metav1.Now()
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Labels: labels(s.Name)},
		Spec:       v1.NodeSpec{PodCIDR: s.PodCIDR, PodCIDRs: []string{s.PodCIDR}},
		Status:     status(s, now, nil),
	}
	created, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		existing, err := cs.CoreV1().Nodes().Get(ctx, s.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for k, v := range labels(s.Name) {
			if existing.Labels == nil {
				existing.Labels = map[string]string{}
			}
			existing.Labels[k] = v
		}
		existing.Spec.Unschedulable = false
		if existing.Spec.PodCIDR == "" {
			existing.Spec.PodCIDR, existing.Spec.PodCIDRs = s.PodCIDR, []string{s.PodCIDR}
		}
		if existing, err = cs.CoreV1().Nodes().Update(ctx, existing, metav1.UpdateOptions{}); err != nil {
			return err
		}
		created = existing
	} else if err != nil {
		return err
	}
	// Create ignores status; set it through the subresource. Controllers
	// touch a new Node at once, hence the conflict retry.
	err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		n, err := cs.CoreV1().Nodes().Get(ctx, s.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Status = status(s, now, n.Status.Conditions)
		created, err = cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return err
	}
	return renewLease(ctx, cs, s.Name, created.UID)
}

func renewLease(ctx context.Context, cs kubernetes.Interface, name string, uid interface{}) error {
	leases := cs.CoordinationV1().Leases(leaseNS)
	now := metav1.NewMicroTime(time.Now())
	dur := int32(leaseDuration)
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		yes := true
		l = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: leaseNS, OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Node", Name: name, UID: n.UID, Controller: &yes,
			}}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &name, LeaseDurationSeconds: &dur, RenewTime: &now},
		}
		_, err = leases.Create(ctx, l, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.RenewTime = &name, &dur, &now
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

// Faults lets fault injection silence nodes; nil fields mean none.
type Faults struct {
	// Silent: the node sends nothing (a lost or partitioned node).
	Silent func(node string) bool
	// Changed is closed when Silent may have changed; a node that speaks
	// again beats at once.
	Changed func() <-chan struct{}
}

func (f Faults) silent(node string) bool { return f.Silent != nil && f.Silent(node) }

func (f Faults) changed() <-chan struct{} {
	if f.Changed == nil {
		return nil
	}
	return f.Changed()
}

// Heartbeat renews every node's lease every LeaseRenew and its status every
// StatusEvery beats, until ctx ends, re-registering a node that was
// deleted. A silent node is skipped; when it speaks again it beats with
// its status at once (the node lifecycle controller set it Unknown).
func Heartbeat(ctx context.Context, cs kubernetes.Interface, specs []Spec, f Faults) {
	t := time.NewTicker(LeaseRenew)
	defer t.Stop()
	wasSilent := map[string]bool{}
	for i := 1; ; i++ {
		changed := f.changed()
		woke := false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-changed:
			woke = true
		}
		for _, s := range specs {
			if f.silent(s.Name) {
				wasSilent[s.Name] = true
				continue
			}
			back := wasSilent[s.Name]
			if woke && !back {
				continue
			}
			withStatus := back || i%StatusEvery == 0
			if err := beat(ctx, cs, s, withStatus); err != nil && ctx.Err() == nil {
				klog.Warningf("node %s heartbeat: %v", s.Name, err)
				continue
			}
			delete(wasSilent, s.Name)
		}
	}
}

func beat(ctx context.Context, cs kubernetes.Interface, s Spec, withStatus bool) error {
	rctx, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	n, err := cs.CoreV1().Nodes().Get(rctx, s.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Register(rctx, cs, s)
	}
	if err != nil {
		return err
	}
	if err := renewLease(rctx, cs, s.Name, n.UID); err != nil {
		return err
	}
	if !withStatus && ready(n) {
		return nil
	}
	n.Status = status(s, metav1.Now(), n.Status.Conditions)
	_, err = cs.CoreV1().Nodes().UpdateStatus(rctx, n, metav1.UpdateOptions{})
	return err
}

// ready reports whether the node's Ready condition is True: when the node
// lifecycle controller set it otherwise, only a status update brings the
// node back.
func ready(n *v1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}
