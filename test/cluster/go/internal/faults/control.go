package faults

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// Runtime is what the controller needs from the pod runtime.
type Runtime interface {
	// FreezeNode freezes (or thaws) the cgroup of every running container
	// of the node's pods and returns how many it changed.
	FreezeNode(node string, frozen bool) (int, error)
	// KillNode kills every container of the node's pods (their whole
	// cgroups) and returns how many.
	KillNode(node string) int
	// KillRemoved kills, still frozen, the containers of the node's pods
	// whose objects are no longer in the API (or were replaced), and
	// returns them as ns/name.
	KillRemoved(node string) []string
	// Resync hands the node's pods as the API has them now to the runtime,
	// which acts on every change it ignored while the node was lost.
	Resync(node string)
}

// Controller applies faults: it keeps the State, the nftables table and the
// pods' processes in step. Operations are serialized.
type Controller struct {
	State *State
	RT    Runtime
	CIDR  NodeCIDRFunc
	// Apply loads an nftables ruleset (ApplyNft; replaced in tests).
	Apply func(ruleset string) error
	// KeepEvery is how often a lost node's containers are frozen (or
	// killed) again, catching one that started just as the node was lost.
	KeepEvery time.Duration

	mu      sync.Mutex
	keepers map[string]context.CancelFunc
}

// Result is what an operation reports.
type Result struct {
	Snapshot
	// Frozen is the number of container cgroups frozen or thawed.
	Frozen int `json:"frozen,omitempty"`
	// KilledContainers: containers killed by a lose with kill.
	KilledContainers int `json:"killedContainers,omitempty"`
	// KilledPods: pods (ns/name) deleted while lost, killed by restore.
	KilledPods []string `json:"killedPods,omitempty"`
}

func (c *Controller) known(node string) error {
	if _, ok := c.CIDR(node); !ok {
		return fmt.Errorf("no node %q on this agent", node)
	}
	return nil
}

func (c *Controller) applyNet() error {
	apply := c.Apply
	if apply == nil {
		apply = ApplyNft
	}
	return apply(Ruleset(c.State.Snapshot(), c.CIDR))
}

// LoseNode makes the node a dead machine.
func (c *Controller) LoseNode(node string, kill bool) (Result, error) {
	if err := c.known(node); err != nil {
		return Result{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.State.Node(node)
	if n.Lost && n.Killed == kill {
		return Result{Snapshot: c.State.Snapshot()}, nil
	}
	// Lost first: from here on nothing restarts a container or reports
	// about the node, so freezing (or killing) cannot race with the runtime.
	n.Lost, n.Killed = true, kill
	c.State.SetNode(node, n)
	if err := c.applyNet(); err != nil {
		return Result{}, err
	}
	r := Result{}
	if kill {
		// Thawed first: a frozen node lost again with kill.
		c.RT.FreezeNode(node, false)
		r.KilledContainers = c.RT.KillNode(node)
	} else {
		f, err := c.RT.FreezeNode(node, true)
		if err != nil {
			return Result{}, err
		}
		r.Frozen = f
	}
	c.startKeeper(node, kill)
	klog.Infof("fault: node %s lost (kill=%v): %d frozen, %d killed", node, kill, r.Frozen, r.KilledContainers)
	r.Snapshot = c.State.Snapshot()
	return r, nil
}

func (c *Controller) startKeeper(node string, kill bool) {
	if c.keepers == nil {
		c.keepers = map[string]context.CancelFunc{}
	}
	if stop := c.keepers[node]; stop != nil {
		stop()
	}
	every := c.KeepEvery
	if every <= 0 {
		every = time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.keepers[node] = cancel
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			c.mu.Lock()
			if ctx.Err() == nil {
				if kill {
					c.RT.KillNode(node)
				} else {
					c.RT.FreezeNode(node, true)
				}
			}
			c.mu.Unlock()
		}
	}()
}

func (c *Controller) stopKeeper(node string) {
	if stop := c.keepers[node]; stop != nil {
		stop()
		delete(c.keepers, node)
	}
}

// RestoreNode brings a lost node back: pods deleted meanwhile are killed
// before anything resumes, then the rest thaws, the network and the
// heartbeat come back, and the runtime catches up with the API.
func (c *Controller) RestoreNode(node string) (Result, error) {
	if err := c.known(node); err != nil {
		return Result{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.State.Node(node)
	if !n.Lost {
		return Result{Snapshot: c.State.Snapshot()}, nil
	}
	c.stopKeeper(node)
	r := Result{KilledPods: c.RT.KillRemoved(node)}
	f, err := c.RT.FreezeNode(node, false)
	if err != nil {
		return Result{}, err
	}
	r.Frozen = f
	n.Lost, n.Killed = false, false
	c.State.SetNode(node, n)
	if err := c.applyNet(); err != nil {
		return Result{}, err
	}
	c.RT.Resync(node)
	klog.Infof("fault: node %s restored: %d thawed, killed %v", node, r.Frozen, r.KilledPods)
	r.Snapshot = c.State.Snapshot()
	return r, nil
}

// PartitionNode cuts the node's pods off from other nodes and the API.
func (c *Controller) PartitionNode(node string, cutKubelet bool) (Result, error) {
	if err := c.known(node); err != nil {
		return Result{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.State.Node(node)
	n.Partitioned, n.KubeletCut = true, cutKubelet
	c.State.SetNode(node, n)
	if err := c.applyNet(); err != nil {
		return Result{}, err
	}
	klog.Infof("fault: node %s partitioned (kubelet cut: %v)", node, cutKubelet)
	return Result{Snapshot: c.State.Snapshot()}, nil
}

// BreakKubelet makes only the node's kubelet API hang, or (broken false)
// answer again.
func (c *Controller) BreakKubelet(node string, broken bool) (Result, error) {
	if err := c.known(node); err != nil {
		return Result{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.State.Node(node)
	n.KubeletBroken = broken
	c.State.SetNode(node, n)
	klog.Infof("fault: node %s kubelet API broken: %v", node, broken)
	return Result{Snapshot: c.State.Snapshot()}, nil
}

// HealNode ends a partition.
func (c *Controller) HealNode(node string) (Result, error) {
	if err := c.known(node); err != nil {
		return Result{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.State.Node(node)
	n.Partitioned, n.KubeletCut = false, false
	c.State.SetNode(node, n)
	if err := c.applyNet(); err != nil {
		return Result{}, err
	}
	// Status reports held back during the partition go out now.
	c.RT.Resync(node)
	klog.Infof("fault: node %s healed", node)
	return Result{Snapshot: c.State.Snapshot()}, nil
}

// SlowAPI sets the fault on the pods' path to the API server.
func (c *Controller) SlowAPI(a API) Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a.LatencyMs < 0 {
		a.LatencyMs = 0
	}
	c.State.SetAPI(a)
	klog.Infof("fault: API server path latency %d ms, timeout %v", a.LatencyMs, a.Timeout)
	return Result{Snapshot: c.State.Snapshot()}
}

// Reset ends every fault (the agent is exiting).
func (c *Controller) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.State.Snapshot()
	for _, name := range s.FaultedNodes() {
		c.stopKeeper(name)
		if s.Nodes[name].Lost {
			c.RT.FreezeNode(name, false)
		}
		c.State.SetNode(name, Node{})
	}
	c.State.SetAPI(API{})
	for _, netns := range s.CutRelays {
		c.State.CutRelay(netns, false)
	}
	if err := c.applyNet(); err != nil {
		klog.Warningf("fault reset: %v", err)
	}
}
