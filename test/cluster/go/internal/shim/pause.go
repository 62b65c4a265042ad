package shim

import (
	"os"
	"os/signal"
	"syscall"
)

// Pause holds a pod's shared PID namespace (shareProcessNamespace: true), as
// the kubelet's pause container does: it is PID 1 there, so it reaps the
// orphans of every container, and the namespace lives as long as it does.
func Pause() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
