package backoff

import (
	"testing"
	"time"
)

func TestSequence(t *testing.T) {
	b := New(10*time.Second, 300*time.Second)
	t0 := time.Unix(1000, 0)
	var got []time.Duration
	now := t0
	for i := 0; i < 8; i++ {
		w, _ := b.Next(now, now)
		got = append(got, w)
		now = now.Add(w + time.Second) // crashes one second after each start
	}
	want := []time.Duration{0, 10, 20, 40, 80, 160, 300, 300}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("restart %d waits %v, want %vs (all: %v)", i, got[i], want[i], got)
		}
	}
}

func TestElapsedSinceFinishCounts(t *testing.T) {
	b := New(10*time.Second, 300*time.Second)
	t0 := time.Unix(1000, 0)
	b.Next(t0, t0)
	w, p := b.Next(t0.Add(time.Second), t0.Add(4*time.Second))
	if w != 7*time.Second || p != 10*time.Second {
		t.Fatalf("wait %v period %v", w, p)
	}
}

func TestResetAfterLongRun(t *testing.T) {
	b := New(10*time.Second, 300*time.Second)
	t0 := time.Unix(1000, 0)
	b.Next(t0, t0)
	b.Next(t0.Add(time.Second), t0.Add(time.Second))
	later := t0.Add(11 * time.Minute)
	if w, _ := b.Next(later, later); w != 0 {
		t.Fatalf("after 10+ minutes running the restart must be immediate, got %v", w)
	}
	if w, _ := b.Next(later.Add(time.Second), later.Add(time.Second)); w != 10*time.Second {
		t.Fatalf("back-off must start over at the initial delay, got %v", w)
	}
}
