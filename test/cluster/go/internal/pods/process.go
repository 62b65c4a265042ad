package pods

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"

	"kpg.local/cluster/internal/crilog"
	"kpg.local/cluster/internal/sandbox"
)

// proc is one running container instance.
type proc struct {
	pid        int
	exited     chan struct{}
	exitCode   int
	signal     int
	finishedAt time.Time
	mu         sync.Mutex
	// termDeadline is set when a graceful stop began: the rest of the
	// process group then gets until the deadline instead of dying at once.
	termDeadline time.Time
	cgroup       string
	mounts       *mountPoints
}

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// start launches `<self> shim spec` in the pod's network namespace and new
// mount, UTS and PID namespaces (see sandbox.Start).
// A non-nil error means the shim could not exec the command (p, if non-nil,
// is exiting).
func (c *ctr) start(spec *shimSpec, restarts int32) (*proc, error) {
	w := c.w
	w.mu.Lock()
	sb := w.sb
	c.id = newID()
	w.mu.Unlock()
	if sb == nil {
		return nil, errors.New("pod sandbox is gone")
	}
	w.mu.Lock()
	id := c.id
	w.mu.Unlock()
	cg, err := sandbox.NewCgroup(id)
	if err != nil {
		return nil, fmt.Errorf("container cgroup: %w", err)
	}
	spec.Cgroup = cg
	createdLog := filepath.Join(c.dir(), "created-"+id[:12])
	spec.CreatedLog = createdLog
	specPath := filepath.Join(c.dir(), "spec.json")
	b, _ := json.Marshal(spec)
	if err := os.WriteFile(specPath, b, 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(w.m.logDir(w.currentPod()), c.spec.Name, strconv.Itoa(int(restarts))+".log")
	lw, err := crilog.Open(logPath)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	if c.logPath != logPath {
		c.prevLog = c.logPath
	}
	c.logPath = logPath
	prev := c.prevLog
	w.mu.Unlock()
	pruneLogs(filepath.Dir(logPath), logPath, prev)
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	stR, stW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(w.m.cfg.Self, "shim", specPath)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.ExtraFiles = []*os.File{stW}
	// Own session and process group: the group is the container's process
	// tree for signals and fault injection.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = sandbox.Start(cmd, sb.Path, sb.PIDNS())
	outW.Close()
	errW.Close()
	stW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		stR.Close()
		lw.Close()
		sandbox.KillCgroup(cg)
		return nil, err
	}
	var copies sync.WaitGroup
	copies.Add(2)
	go func() { defer copies.Done(); lw.Copy("stdout", outR); outR.Close() }()
	go func() { defer copies.Done(); lw.Copy("stderr", errR); errR.Close() }()
	go func() { copies.Wait(); lw.Close() }()
	p := &proc{pid: cmd.Process.Pid, exited: make(chan struct{}), cgroup: cg, mounts: w.m.mounts}
	// The status pipe reaches EOF at exec (close-on-exec) or at exit.
	msg, _ := io.ReadAll(io.LimitReader(stR, 64*1024))
	stR.Close()
	targets := make([]string, len(spec.Mounts))
	for i, m := range spec.Mounts {
		targets[i] = filepath.Clean(m.Target)
	}
	w.m.mounts.started(p, targets, createdLog)
	// Only now: exited() must not run before started().
	go p.wait(cmd)
	if len(msg) > 0 {
		return p, errors.New(string(msg))
	}
	return p, nil
}

func (p *proc) wait(cmd *exec.Cmd) {
	err := cmd.Wait()
	p.exitCode = 0
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.signal = int(ws.Signal())
			p.exitCode = 128 + p.signal
		} else {
			p.exitCode = ee.ExitCode()
		}
	} else if err != nil {
		p.exitCode = 128
	}
	p.finishedAt = time.Now()
	// A container ends with its main process: what is left of its tree goes
	// too (at once, or at the end of a graceful stop's grace).
	for p.alive() {
		p.mu.Lock()
		dl := p.termDeadline
		p.mu.Unlock()
		if time.Now().After(dl) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.killAll()
	if p.mounts != nil {
		p.mounts.exited(p)
	}
	close(p.exited)
}

func (p *proc) alive() bool {
	if p.cgroup != "" {
		return sandbox.CgroupPopulated(p.cgroup)
	}
	return sandbox.GroupAlive(p.pid)
}

func (p *proc) killAll() {
	sandbox.KillGroup(p.pid)
	sandbox.KillCgroup(p.cgroup)
}

// terminate stops an instance like the kubelet: preStop hook, SIGTERM, then
// SIGKILL at the deadline. The whole process group gets the signals.
func (c *ctr) terminate(p *proc, deadline time.Time, preStop bool) {
	w := c.w
	if preStop && c.spec.Lifecycle != nil && c.spec.Lifecycle.PreStop != nil {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		c.runHook(ctx, c.spec.Lifecycle.PreStop)
		cancel()
	}
	p.mu.Lock()
	p.termDeadline = deadline
	p.mu.Unlock()
	w.event(v1.EventTypeNormal, "Killing", "Stopping container %s", c.spec.Name)
	syscall.Kill(-p.pid, syscall.SIGTERM)
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		syscall.Kill(-p.pid, syscall.SIGKILL)
		p.killAll()
	}
}

func (c *ctr) runHook(ctx context.Context, h *v1.LifecycleHandler) {
	switch {
	case h.Exec != nil:
		if code, out, err := c.execIn(ctx, h.Exec.Command); err != nil || code != 0 {
			c.w.event(v1.EventTypeWarning, "FailedPreStopHook", "PreStopHook failed: exit %d: %v %s", code, err, strings.TrimSpace(string(out)))
		}
	case h.Sleep != nil:
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(h.Sleep.Seconds) * time.Second):
		}
	}
}

// execIn runs argv inside the running container the way `kubectl exec` does:
// the container's net, mount, UTS and PID namespaces, user, groups, env and cwd.
func (c *ctr) execIn(ctx context.Context, argv []string) (int, []byte, error) {
	c.w.mu.Lock()
	pid, running, info := c.pid, c.running, c.exec
	c.w.mu.Unlock()
	if !running {
		return -1, nil, errors.New("container is not running")
	}
	cmd := exec.Command("nsenter", EnterArgs(pid, info.uid, info.gid, info.groups, info.workDir, argv)...)
	cmd.Env = info.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return -1, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return -1, out.Bytes(), ctx.Err()
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.Bytes(), nil
	}
	return 0, out.Bytes(), err
}

// EnterArgs are nsenter's arguments to run argv in a container.
func EnterArgs(pid int, uid, gid uint32, groups []uint32, wd string, argv []string) []string {
	args := []string{"-t", strconv.Itoa(pid), "-n", "-m", "-u", "-p", "--wdns=" + wd, "--"}
	if uid != 0 || gid != 0 || len(groups) > 0 {
		args = append(args, "/usr/bin/setpriv", "--reuid", strconv.Itoa(int(uid)), "--regid", strconv.Itoa(int(gid)))
		if len(groups) == 0 {
			args = append(args, "--clear-groups")
		} else {
			gs := make([]string, len(groups))
			for i, g := range groups {
				gs[i] = strconv.Itoa(int(g))
			}
			args = append(args, "--groups", strings.Join(gs, ","))
		}
		args = append(args, "--")
	}
	return append(args, argv...)
}

// pruneLogs keeps only the current and previous instance logs, like the
// kubelet.
func pruneLogs(dir string, keep ...string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if p != keep[0] && (len(keep) < 2 || p != keep[1]) {
			os.Remove(p)
		}
	}
}

// tailLog returns the last lines of a CRI log, without the CRI prefixes.
func tailLog(path string, lines, maxBytes int) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	var out []string
	for _, l := range all {
		if f := strings.SplitN(l, " ", 4); len(f) == 4 {
			out = append(out, f[3])
		}
	}
	s := strings.Join(out, "\n")
	if len(s) > maxBytes {
		s = s[len(s)-maxBytes:]
	}
	return []byte(s)
}

func (w *worker) event(kind, reason, format string, a ...any) {
	if r := w.m.cfg.Recorder; r != nil {
		r.Eventf(w.currentPod(), kind, reason, format, a...)
	}
	_ = fmt.Sprintf
}
