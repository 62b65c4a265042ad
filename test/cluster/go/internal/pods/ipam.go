package pods

import (
	"fmt"
	"sync"
)

// ipam hands out pod IPs: node i owns 10.244.i.0/24 (also its podCIDR), so an
// address tells which fake node a pod is on.
//
// Addresses are handed out round-robin, as the CNI host-local IPAM does: a
// pod recreated under the same name gets a fresh address, so no peer can
// hold a neighbour entry or a half-open connection of its predecessor. An
// address comes back only after the rest of the node's range was used.
type ipam struct {
	mu   sync.Mutex
	used map[string]string // ip → pod uid
	last map[int]int       // node → host part handed out last
}

const (
	firstHost = 2
	lastHost  = 254
)

func newIPAM() *ipam { return &ipam{used: map[string]string{}, last: map[int]int{}} }

// NodeCIDR is the pod CIDR of node index i (1-based).
func NodeCIDR(i int) string { return fmt.Sprintf("10.244.%d.0/24", i) }

func (a *ipam) alloc(node int, uid string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	start := a.last[node]
	if start < firstHost {
		start = firstHost - 1
	}
	n := lastHost - firstHost + 1
	for i := 1; i <= n; i++ {
		h := firstHost + (start-firstHost+i+n)%n
		ip := fmt.Sprintf("10.244.%d.%d", node, h)
		if _, taken := a.used[ip]; !taken {
			a.used[ip] = uid
			a.last[node] = h
			return ip, nil
		}
	}
	return "", fmt.Errorf("no free pod IP in %s", NodeCIDR(node))
}

func (a *ipam) release(ip string) {
	a.mu.Lock()
	delete(a.used, ip)
	a.mu.Unlock()
}
