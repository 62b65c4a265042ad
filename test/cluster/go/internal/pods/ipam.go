package pods

import (
	"fmt"
	"sync"
)

// ipam hands out pod IPs: node i owns 10.244.i.0/24 (also its podCIDR), so an
// address tells which fake node a pod is on.
type ipam struct {
	mu   sync.Mutex
	used map[string]string // ip → pod uid
}

func newIPAM() *ipam { return &ipam{used: map[string]string{}} }

// NodeCIDR is the pod CIDR of node index i (1-based).
func NodeCIDR(i int) string { return fmt.Sprintf("10.244.%d.0/24", i) }

func (a *ipam) alloc(node int, uid string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for h := 2; h < 255; h++ {
		ip := fmt.Sprintf("10.244.%d.%d", node, h)
		if _, taken := a.used[ip]; !taken {
			a.used[ip] = uid
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
