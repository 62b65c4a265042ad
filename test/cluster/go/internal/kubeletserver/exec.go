package kubeletserver

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	utilexec "k8s.io/utils/exec"

	"k8s.io/cri-streaming/pkg/streaming/remotecommand"

	"kpg.local/cluster/internal/podapi"
)

// drainGrace bounds how long output is still copied after the exec'd process
// exited. A background child that inherited stdout and keeps it open is cut
// off instead of hanging the session (and kubectl) forever.
const drainGrace = 2 * time.Second

// executor runs one exec request in an already looked-up container.
type executor struct{ c podapi.Container }

var _ remotecommand.Executor = executor{}

func (e executor) ExecInContainer(ctx context.Context, _, _, _ string, cmd []string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	if len(cmd) == 0 {
		return errors.New("command is required")
	}
	plan := planExec(e.c, cmd, tty, nsDiffers(e.c.PID), findSetpriv(e.c.PID))
	return runPlan(ctx, plan, in, out, errw, tty, resize)
}

// runPlan starts plan and wires the streams. A non-zero exit comes back as a
// utilexec.ExitError, which ServeExec turns into the exit-code status that
// kubectl reports as its own exit code.
func runPlan(ctx context.Context, plan execPlan, in io.Reader, out, errw io.Writer, tty bool, resize <-chan remotecommand.TerminalSize) error {
	path, err := exec.LookPath(plan.Argv[0])
	if err != nil {
		return err
	}
	cmd := &exec.Cmd{Path: path, Args: plan.Argv, Env: plan.Env}
	if tty {
		return runTTY(ctx, cmd, in, out, resize)
	}
	return runPipes(ctx, cmd, in, out, errw)
}

func runPipes(ctx context.Context, cmd *exec.Cmd, in io.Reader, out, errw io.Writer) error {
	// Own process group so that a client disconnect kills the whole tree.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var readers []*os.File
	var closeAfterStart []*os.File
	var stdinW *os.File
	if in != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		cmd.Stdin, stdinW = r, w
		closeAfterStart = append(closeAfterStart, r)
	}
	for _, dst := range []struct {
		w   io.Writer
		set func(*os.File)
	}{{out, func(f *os.File) { cmd.Stdout = f }}, {errw, func(f *os.File) { cmd.Stderr = f }}} {
		if dst.w == nil {
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		dst.set(w)
		readers = append(readers, r)
		closeAfterStart = append(closeAfterStart, w)
	}
	defer func() {
		for _, f := range readers {
			f.Close()
		}
	}()
	if err := cmd.Start(); err != nil {
		for _, f := range closeAfterStart {
			f.Close()
		}
		if stdinW != nil {
			stdinW.Close()
		}
		return err
	}
	for _, f := range closeAfterStart {
		f.Close()
	}
	if stdinW != nil {
		go func() {
			io.Copy(stdinW, in)
			// EOF from the client becomes EOF for the process (echo hi | kubectl exec -i … cat).
			stdinW.Close()
		}()
	}
	var wg sync.WaitGroup
	i := 0
	for _, w := range []io.Writer{out, errw} {
		if w == nil {
			continue
		}
		r := readers[i]
		i++
		wg.Add(1)
		go func() { defer wg.Done(); io.Copy(w, r) }()
	}
	stop := context.AfterFunc(ctx, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	defer stop()
	err := cmd.Wait()
	if !waitTimeout(&wg, drainGrace) {
		// A leftover child still holds the pipe: stop reading now.
		for _, r := range readers {
			r.SetReadDeadline(time.Now())
		}
		wg.Wait()
	}
	if stdinW != nil {
		stdinW.Close()
	}
	return exitError(err)
}

func runTTY(ctx context.Context, cmd *exec.Cmd, in io.Reader, out io.Writer, resize <-chan remotecommand.TerminalSize) error {
	// pty.Start makes the child a session leader with the pty as its
	// controlling terminal; nsenter passes both on to the command.
	ptmx, err := pty.Start(cmd)
	if err != nil {
		return err
	}
	defer ptmx.Close()
	go func() {
		for size := range resize {
			if size.Width > 0 && size.Height > 0 {
				pty.Setsize(ptmx, &pty.Winsize{Rows: size.Height, Cols: size.Width})
			}
		}
	}()
	if in != nil {
		go io.Copy(ptmx, in)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if out == nil {
			out = io.Discard
		}
		// Ends with EIO once every holder of the pty slave has exited.
		io.Copy(out, ptmx)
	}()
	stop := context.AfterFunc(ctx, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	defer stop()
	err = cmd.Wait()
	// creack/pty leaves the master in blocking mode, so a read cannot be
	// interrupted; if a leftover child keeps the slave open, give up on it.
	waitTimeout(&wg, drainGrace)
	return exitError(err)
}

// waitTimeout waits for wg for at most d; it reports whether wg finished.
// Output left in a pipe when the process exits is at most a pipe buffer, so
// d only matters when some background child keeps the pipe open.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// exitError converts *exec.ExitError into the utilexec type ServeExec checks
// for with a plain type assertion.
func exitError(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ee.Exited() {
			return utilexec.CodeExitError{Err: err, Code: ee.ExitCode()}
		}
		// Killed by a signal: report like a shell would.
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return utilexec.CodeExitError{Err: err, Code: 128 + int(ws.Signal())}
		}
	}
	return err
}
