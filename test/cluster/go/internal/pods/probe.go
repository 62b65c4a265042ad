package pods

import (
	"context"
	"fmt"
	"net"

	v1 "k8s.io/api/core/v1"

	"kpg.local/cluster/internal/probes"
	"kpg.local/cluster/internal/sandbox"
)

// startProbes runs the instance's probes until ctx ends. The startup probe
// gates the others; readiness sets ready; liveness and startup failures
// kill the instance.
func (c *ctr) startProbes(ctx context.Context, p *proc) {
	w := c.w
	w.mu.Lock()
	nsPath, podIP := "", w.podIP
	if w.sb != nil {
		nsPath = w.sb.Path
	}
	w.mu.Unlock()
	t := probes.Target{
		// A lost node's kubelet probes nothing (its processes are frozen).
		Paused:    func() bool { return w.m.nodeLost(w.node) },
		PodIP:     podIP,
		Container: c.spec,
		Exec:      c.execIn,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return sandbox.DialContext(ctx, nsPath, network, addr)
		},
	}
	others := func() {
		if rp := c.spec.ReadinessProbe; rp != nil {
			go probes.Loop(ctx, rp, t, func(ok, changed bool, msg string) {
				if !ok && msg != "" {
					w.event(v1.EventTypeWarning, "Unhealthy", "Readiness probe failed: %s", msg)
				}
				if changed {
					w.mu.Lock()
					c.ready = ok && c.running
					w.mu.Unlock()
					w.kickStatus()
				}
			})
		} else {
			w.mu.Lock()
			c.ready = c.running
			w.mu.Unlock()
			w.kickStatus()
		}
		if lp := c.spec.LivenessProbe; lp != nil {
			go probes.Loop(ctx, lp, t, func(ok, changed bool, msg string) {
				if !ok && msg != "" {
					w.event(v1.EventTypeWarning, "Unhealthy", "Liveness probe failed: %s", msg)
				}
				if changed && !ok {
					c.requestKill(fmt.Sprintf("Container %s failed liveness probe, will be restarted", c.spec.Name))
				}
			})
		}
	}
	sp := c.spec.StartupProbe
	if sp == nil {
		others()
		return
	}
	sctx, scancel := context.WithCancel(ctx)
	go probes.Loop(sctx, sp, t, func(ok, changed bool, msg string) {
		if !ok && msg != "" {
			w.event(v1.EventTypeWarning, "Unhealthy", "Startup probe failed: %s", msg)
		}
		if !changed {
			return
		}
		if ok {
			scancel()
			w.mu.Lock()
			c.started = true
			w.mu.Unlock()
			w.kickStatus()
			if c.sidecar() {
				c.markStarted()
			}
			others()
			return
		}
		scancel()
		c.requestKill(fmt.Sprintf("Container %s failed startup probe, will be restarted", c.spec.Name))
	})
}
