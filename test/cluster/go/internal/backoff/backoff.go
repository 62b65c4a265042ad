// Package backoff reproduces the kubelet's container restart back-off: the
// first restart after a crash is immediate, every later one waits, starting at
// the initial delay and doubling up to the cap; a container that finished more
// than twice the cap after its previous crash starts over.
package backoff

import "time"

// Backoff tracks one container. The zero value is not usable; use New.
type Backoff struct {
	initial, max time.Duration
	cur          time.Duration
	last         time.Time
	active       bool
}

// New returns a back-off with the given initial delay and cap.
func New(initial, max time.Duration) *Backoff {
	return &Backoff{initial: initial, max: max}
}

// Next is called when the container finished at finishedAt; it returns how
// long to wait from now before starting it again and the back-off period that
// applies (for the "back-off 10s restarting failed container" message).
func (b *Backoff) Next(finishedAt, now time.Time) (wait, period time.Duration) {
	if !b.active || finishedAt.Sub(b.last) > 2*b.max {
		b.active, b.cur, b.last = true, b.initial, finishedAt
		return 0, 0
	}
	period = b.cur
	wait = period - now.Sub(finishedAt)
	if wait < 0 {
		wait = 0
	}
	b.cur *= 2
	if b.cur > b.max {
		b.cur = b.max
	}
	b.last = finishedAt
	return wait, period
}
