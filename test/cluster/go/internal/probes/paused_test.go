package probes

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// A paused target (its node is lost) is not probed at all, and probing
// resumes where it left off.
func TestLoopPaused(t *testing.T) {
	var calls, paused atomic.Int32
	paused.Store(1)
	tg := Target{
		Exec: func(ctx context.Context, argv []string) (int, []byte, error) {
			calls.Add(1)
			return 0, nil, nil
		},
		Paused: func() bool { return paused.Load() == 1 },
	}
	p := &v1.Probe{PeriodSeconds: 1, ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"true"}}}}
	reports := make(chan bool, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Loop(ctx, p, tg, func(ok, changed bool, msg string) { reports <- ok })
	select {
	case <-reports:
		t.Fatal("a paused target was probed")
	case <-time.After(1500 * time.Millisecond):
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("%d probe attempts while paused", n)
	}
	paused.Store(0)
	select {
	case ok := <-reports:
		if !ok {
			t.Error("probe failed after resuming")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no probe after resuming")
	}
}
