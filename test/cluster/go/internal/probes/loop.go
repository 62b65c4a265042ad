package probes

import (
	"context"
	"time"

	v1 "k8s.io/api/core/v1"
)

// Thresholds turns attempts into a state: the result flips to success after
// successThreshold consecutive successes and to failure after
// failureThreshold consecutive failures.
type Thresholds struct {
	Success, Failure int
	state            bool
	known            bool
	run              int
	runOK            bool
}

// NewThresholds applies the API defaults (1 and 3).
func NewThresholds(p *v1.Probe) *Thresholds {
	t := &Thresholds{Success: int(p.SuccessThreshold), Failure: int(p.FailureThreshold)}
	if t.Success <= 0 {
		t.Success = 1
	}
	if t.Failure <= 0 {
		t.Failure = 3
	}
	return t
}

// Observe records one attempt; changed reports a state flip (or the first
// decided state).
func (t *Thresholds) Observe(ok bool) (state, changed bool) {
	if ok == t.runOK {
		t.run++
	} else {
		t.runOK, t.run = ok, 1
	}
	need := t.Failure
	if ok {
		need = t.Success
	}
	if t.run >= need && (!t.known || t.state != ok) {
		t.known, t.state = true, ok
		return ok, true
	}
	return t.state, false
}

// Loop probes every periodSeconds after initialDelaySeconds until ctx ends,
// calling report with each decided state change and every failure message.
func Loop(ctx context.Context, p *v1.Probe, t Target, report func(ok, changed bool, msg string)) {
	period := time.Duration(p.PeriodSeconds) * time.Second
	if period <= 0 {
		period = 10 * time.Second
	}
	if !sleep(ctx, time.Duration(p.InitialDelaySeconds)*time.Second) {
		return
	}
	th := NewThresholds(p)
	for {
		if t.Paused != nil && t.Paused() {
			if !sleep(ctx, period) {
				return
			}
			continue
		}
		ok, msg := Do(ctx, p, t)
		if ctx.Err() != nil {
			return
		}
		state, changed := th.Observe(ok)
		report(state, changed, msg)
		if !sleep(ctx, period) {
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}
