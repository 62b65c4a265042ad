// Package podapi is the contract between the pod runtime (which starts and
// tracks containers) and the parts of the node agent that reach into running
// containers: the kubelet streaming server (exec, attach, logs, port-forward)
// and probes.
package podapi

import "errors"

// ErrNotFound is returned when the pod or container is not on this agent.
var ErrNotFound = errors.New("container not found on this node")

// ErrNotRunning is returned when the container exists but has no live process.
var ErrNotRunning = errors.New("container is not running")

// Container describes one live container process on this node.
type Container struct {
	PodUID    string
	Namespace string
	Pod       string
	Name      string
	// PID is the container's main process in the host PID namespace; its
	// mount, UTS and network namespaces are the container's.
	PID int
	// NetNS is the path of the pod's network namespace (e.g. /run/netns/kpg-…).
	NetNS string
	UID   uint32
	GID   uint32
	// Groups are the supplementary groups (fsGroup, supplementalGroups).
	Groups []uint32
	// Env is the container's resolved environment, KEY=VALUE.
	Env     []string
	WorkDir string
}

// Lookup finds containers for the streaming server and probes.
type Lookup interface {
	// Container returns the running container, or ErrNotFound / ErrNotRunning.
	Container(namespace, pod, container string) (Container, error)
	// LogPath returns the log file of the container's current instance, or of
	// the previous (last terminated) instance when previous is true. Log files
	// use the CRI format, one line per entry:
	//   2026-11-22T01:02:03.123456789Z stdout F the line
	LogPath(namespace, pod, container string, previous bool) (string, error)
	// DefaultContainer names the pod's first container (for requests without one).
	DefaultContainer(namespace, pod string) (string, error)
}
