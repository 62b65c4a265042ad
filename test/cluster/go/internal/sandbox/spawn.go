package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// Start starts cmd as a container's first process: inside the pod's network
// namespace, in fresh mount and UTS namespaces, and in a fresh PID namespace
// (it is PID 1 there, as in a container) unless pidNS names the pod's shared
// one (shareProcessNamespace), which it then joins.
//
// Namespaces are entered on a locked OS thread that forks the child and then
// dies with its goroutine, so no other goroutine of the agent ever runs in
// them; cmd.Process.Pid is the container process itself, not a helper that
// forwards signals (as `unshare --fork` would be).
func Start(cmd *exec.Cmd, netNS, pidNS string) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	if cmd.SysProcAttr.Pdeathsig != 0 {
		// The parent thread ends right after the fork: the child would get
		// its death signal at once.
		return fmt.Errorf("sandbox.Start: Pdeathsig is not supported")
	}
	flags := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWUTS)
	if pidNS == "" {
		flags |= unix.CLONE_NEWPID
	}
	cmd.SysProcAttr.Cloneflags = flags
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread's namespaces changed, so it must end.
		if err := setns(netNS, unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		if pidNS != "" {
			if err := setns(pidNS, unix.CLONE_NEWPID); err != nil {
				errc <- err
				return
			}
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

func setns(path string, kind int) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open namespace: %w", err)
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), kind); err != nil {
		return fmt.Errorf("setns %s: %w", path, err)
	}
	return nil
}
