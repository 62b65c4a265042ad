// Package faults holds the faults that tests inject into kpg-node's nodes
// (lost, partitioned) and into the pods' path to the API server (latency,
// timeouts), and serves the control endpoint that sets them (see
// test/cluster/README.md, "Fault injection").
package faults

import (
	"sort"
	"sync"
	"time"

	"kpg.local/cluster/internal/relay"
)

// Node is the fault state of one node.
type Node struct {
	// Lost: the node is gone as a dead machine is: no heartbeat, no status,
	// no kubelet API, its pods frozen (or killed) and unreachable, and the
	// agent acts on nothing the API says about it.
	Lost bool `json:"lost,omitempty"`
	// Killed: the lost node's containers were killed instead of frozen.
	Killed bool `json:"killed,omitempty"`
	// Partitioned: its pods cannot reach pods on other nodes or the API
	// server, and the node's heartbeat and pod status reports stop.
	Partitioned bool `json:"partitioned,omitempty"`
	// KubeletCut: while partitioned, the kubelet API hangs too.
	KubeletCut bool `json:"kubeletCut,omitempty"`
	// KubeletBroken: only the kubelet API hangs (a broken API→kubelet
	// tunnel): the pods run and reach everything as before.
	KubeletBroken bool `json:"kubeletBroken,omitempty"`
}

func (n Node) zero() bool { return n == Node{} }

// API is the fault on the pods' path to the API server.
type API struct {
	LatencyMs int  `json:"latencyMs,omitempty"`
	Timeout   bool `json:"timeout,omitempty"`
}

// Snapshot is every fault in effect.
type Snapshot struct {
	Nodes     map[string]Node `json:"nodes"`
	APIServer API             `json:"apiserver"`
	// CutRelays: network namespaces whose in-pod API relay hangs (one pod cut off).
	CutRelays []string `json:"cutRelays,omitempty"`
}

// FaultedNodes lists the nodes with a fault, sorted.
func (s Snapshot) FaultedNodes() []string {
	var out []string
	for n, f := range s.Nodes {
		if !f.zero() {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// State is the shared, concurrency-safe fault state. Readers that wait for
// a change take Changed() before reading, then block on it.
type State struct {
	mu      sync.Mutex
	nodes   map[string]Node
	api     API
	cut     map[string]bool
	changed chan struct{}
}

// NewState returns a state without faults.
func NewState() *State {
	return &State{nodes: map[string]Node{}, cut: map[string]bool{}, changed: make(chan struct{})}
}

// Changed is closed at the next change.
func (s *State) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *State) update(fn func()) {
	s.mu.Lock()
	fn()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// SetNode replaces a node's fault state.
func (s *State) SetNode(name string, n Node) {
	s.update(func() {
		if n.zero() {
			delete(s.nodes, name)
		} else {
			s.nodes[name] = n
		}
	})
}

// SetAPI replaces the API server fault.
func (s *State) SetAPI(a API) { s.update(func() { s.api = a }) }

// Node returns a node's fault state.
func (s *State) Node(name string) Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodes[name]
}

// Snapshot copies the whole state.
func (s *State) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Snapshot{Nodes: map[string]Node{}, APIServer: s.api}
	for k, v := range s.nodes {
		out.Nodes[k] = v
	}
	for k := range s.cut {
		out.CutRelays = append(out.CutRelays, k)
	}
	sort.Strings(out.CutRelays)
	return out
}

// Lost reports whether the agent must behave as a dead kubelet for the node.
func (s *State) Lost(node string) bool { return s.Node(node).Lost }

// Silent reports whether the node sends nothing to the API server: no lease,
// no node status, no pod status.
func (s *State) Silent(node string) bool {
	n := s.Node(node)
	return n.Lost || n.Partitioned
}

// KubeletDown reports whether the node's kubelet API must not answer.
func (s *State) KubeletDown(node string) bool {
	n := s.Node(node)
	return n.Lost || n.KubeletBroken || n.Partitioned && n.KubeletCut
}

// RelayConditions is how the in-pod API relay of a pod on node (in the
// network namespace netns) treats its traffic now: a lost or partitioned
// node's pods, a pod whose relay was cut, and an API server that times out
// get no answer at all; latency applies to every pod.
func (s *State) RelayConditions(node, netns string) relay.Conditions {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[node]
	return relay.Conditions{
		Hang:    n.Lost || n.Partitioned || s.api.Timeout || s.cut[netns],
		Latency: time.Duration(s.api.LatencyMs) * time.Millisecond,
	}
}

// CutRelay makes the relay of the pod in netns hang (on) or forward again.
func (s *State) CutRelay(netns string, on bool) {
	s.update(func() {
		if on {
			s.cut[netns] = true
		} else {
			delete(s.cut, netns)
		}
	})
}

// RelayFaults adapts the state to relay.Faults for one pod of a node.
func (s *State) RelayFaults(node, netns string) relay.Faults {
	return func() (relay.Conditions, <-chan struct{}) {
		ch := s.Changed()
		return s.RelayConditions(node, netns), ch
	}
}

// WaitWhile blocks while cond() holds, until done is closed; it returns
// false when done ended the wait.
func (s *State) WaitWhile(cond func() bool, done <-chan struct{}) bool {
	for {
		ch := s.Changed()
		if !cond() {
			return true
		}
		select {
		case <-ch:
		case <-done:
			return false
		}
	}
}
