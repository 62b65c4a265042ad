package main

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lockStateDir makes sure only one agent runs: two would share netns names,
// the bridge and pod directories, and each one's start-up cleanup would
// destroy the other's pods. The lock dies with the process.
func lockStateDir(stateDir string) error {
	p := filepath.Join(stateDir, "kpg-node.lock")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b, _ := os.ReadFile(p)
		return fmt.Errorf("another kpg-node holds %s (pid %s): %w", p, string(b), err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(fmt.Sprint(os.Getpid())), 0)
	// Keep f open (and locked) for the life of the process.
	lockFile = f
	return nil
}

var lockFile *os.File
