package node

import (
	"context"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// silence is a Faults whose silent set a test changes.
type silence struct {
	mu     sync.Mutex
	silent map[string]bool
	ch     chan struct{}
}

func (s *silence) set(node string, v bool) {
	s.mu.Lock()
	s.silent[node] = v
	close(s.ch)
	s.ch = make(chan struct{})
	s.mu.Unlock()
}

func (s *silence) faults() Faults {
	return Faults{
		Silent:  func(n string) bool { s.mu.Lock(); defer s.mu.Unlock(); return s.silent[n] },
		Changed: func() <-chan struct{} { s.mu.Lock(); defer s.mu.Unlock(); return s.ch },
	}
}

func TestHeartbeatSilent(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs := fake.NewSimpleClientset()
	specs := []Spec{{Name: "a", KubeletPort: 1}, {Name: "b", KubeletPort: 2}}
	for _, s := range specs {
		if err := Register(ctx, cs, s); err != nil {
			t.Fatal(err)
		}
	}
	renew := func(n string) time.Time {
		l, err := cs.CoordinationV1().Leases(leaseNS).Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return l.Spec.RenewTime.Time
	}
	a0, b0 := renew("a"), renew("b")
	sil := &silence{silent: map[string]bool{"b": true}, ch: make(chan struct{})}
	go Heartbeat(ctx, cs, specs, sil.faults())
	deadline := time.Now().Add(LeaseRenew + 3*time.Second)
	for !renew("a").After(a0) {
		if time.Now().After(deadline) {
			t.Fatal("a's lease was not renewed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !renew("b").Equal(b0) {
		t.Fatal("a silent node renewed its lease")
	}
	// The lifecycle controller marks b Unknown; back, it beats with status at once.
	n, _ := cs.CoreV1().Nodes().Get(ctx, "b", metav1.GetOptions{})
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == v1.NodeReady {
			n.Status.Conditions[i].Status = v1.ConditionUnknown
		}
	}
	cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
	t0 := time.Now()
	sil.set("b", false)
	for {
		n, _ := cs.CoreV1().Nodes().Get(ctx, "b", metav1.GetOptions{})
		if ready(n) && renew("b").After(b0) {
			break
		}
		if time.Since(t0) > LeaseRenew/2 {
			t.Fatal("b did not beat at once when it came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
