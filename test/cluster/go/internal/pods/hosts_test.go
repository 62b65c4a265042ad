package pods

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeSource is a HostsSource whose changes the test makes.
type fakeSource struct {
	mu sync.Mutex
	ch chan struct{}
}

func newFakeSource() *fakeSource { return &fakeSource{ch: make(chan struct{})} }

func (f *fakeSource) Hosts(string) []byte { return nil }

func (f *fakeSource) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ch
}

func (f *fakeSource) change() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.ch)
	f.ch = make(chan struct{})
}

func TestFollowChangesSeesAChangeWhileApplying(t *testing.T) {
	src := newFakeSource()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := make(chan int, 10)
	n := 0
	go followChanges(ctx, src, func() {
		n++
		if n == 1 {
			// The table changes again while the first round of hosts files is written.
			src.change()
		}
		calls <- n
	})
	// followChanges must be waiting before the first change.
	time.Sleep(20 * time.Millisecond)
	src.change()
	for want := 1; want <= 2; want++ {
		select {
		case got := <-calls:
			if got != want {
				t.Fatalf("apply call %d, want %d", got, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("apply ran %d time(s): the change made while it ran was missed", want-1)
		}
	}
}
