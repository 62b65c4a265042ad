package relay

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// InNetNS runs fn on an OS thread switched into the network namespace at
// netnsPath. Sockets created by fn belong to that namespace for their whole
// life, so fn should only create sockets (listen/dial) and return them; the
// I/O can then happen on any goroutine.
//
// The thread is switched back afterwards. If that fails the thread stays
// locked, which makes the Go runtime discard it instead of reusing a thread
// that sits in the wrong namespace.
func InNetNS(netnsPath string, fn func() error) error {
	target, err := os.Open(netnsPath)
	if err != nil {
		return fmt.Errorf("open netns: %w", err)
	}
	defer target.Close()

	runtime.LockOSThread()
	// The thread's own namespace, not the process's: another locked
	// goroutine may have moved a different thread.
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open current netns: %w", err)
	}
	defer orig.Close()

	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", netnsPath, err)
	}
	fnErr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: it exits with this goroutine.
		return fmt.Errorf("restore netns: %w (fn: %v)", err, fnErr)
	}
	runtime.UnlockOSThread()
	return fnErr
}
