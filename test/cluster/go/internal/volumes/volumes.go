// Package volumes materialises a pod's volumes as host directories that the
// shim bind-mounts into containers, the way the kubelet lays them out.
package volumes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
)

// Sources is where volume content comes from.
type Sources struct {
	CS              kubernetes.Interface
	ConfigMap       func(namespace, name string) (*v1.ConfigMap, error)
	Secret          func(namespace, name string) (*v1.Secret, error)
	NodeAllocatable v1.ResourceList
}

// WaitError means the pod cannot start yet (unbound claim, missing object);
// the message is shown as the containers' ContainerCreating reason.
type WaitError struct{ Msg string }

func (e *WaitError) Error() string { return e.Msg }

func waitf(format string, a ...any) error { return &WaitError{Msg: fmt.Sprintf(format, a...)} }

// Set is one pod's volumes.
type Set struct {
	src    *Sources
	dir    string
	mu     sync.Mutex
	pod    *v1.Pod
	podIPs []string
	paths  map[string]string
	// readOnly marks volumes the kubelet always mounts read-only.
	readOnly map[string]bool
	tmpfs    []string
	tokens   map[string]token
}

// New prepares a set rooted at dir (<pod dir>/volumes).
func New(src *Sources, pod *v1.Pod, dir string, podIPs []string) *Set {
	return &Set{src: src, dir: dir, pod: pod, podIPs: podIPs, paths: map[string]string{}, readOnly: map[string]bool{}, tokens: map[string]token{}}
}

// Path returns the host path backing a volume and whether it must be mounted
// read-only whatever the volumeMount says.
func (s *Set) Path(name string) (path string, readOnly bool, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.paths[name]
	return p, s.readOnly[name], ok
}

// SetPod records the latest pod object (labels and annotations feed the
// downward API).
func (s *Set) SetPod(pod *v1.Pod) {
	s.mu.Lock()
	s.pod = pod
	s.mu.Unlock()
}

// Setup creates every volume not yet created. It may be called again after
// an error; finished volumes are kept.
func (s *Set) Setup(ctx context.Context) error {
	s.mu.Lock()
	pod := s.pod
	s.mu.Unlock()
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		s.mu.Lock()
		_, done := s.paths[vol.Name]
		s.mu.Unlock()
		if done {
			continue
		}
		path, ro, err := s.setupOne(ctx, pod, vol)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.paths[vol.Name] = path
		s.readOnly[vol.Name] = ro
		s.mu.Unlock()
	}
	return nil
}

func (s *Set) setupOne(ctx context.Context, pod *v1.Pod, vol *v1.Volume) (string, bool, error) {
	fsGroup := fsGroupOf(pod)
	switch {
	case vol.EmptyDir != nil:
		p := filepath.Join(s.dir, "empty-dir", vol.Name)
		if err := os.MkdirAll(p, 0o777); err != nil {
			return "", false, err
		}
		if vol.EmptyDir.Medium == v1.StorageMediumMemory {
			opts := "mode=0777"
			if l := vol.EmptyDir.SizeLimit; l != nil && !l.IsZero() {
				opts += fmt.Sprintf(",size=%d", l.Value())
			}
			if err := unix.Mount("tmpfs", p, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
				return "", false, fmt.Errorf("emptyDir %s: mount tmpfs: %w", vol.Name, err)
			}
			s.mu.Lock()
			s.tmpfs = append(s.tmpfs, p)
			s.mu.Unlock()
		}
		// The umask trimmed MkdirAll's mode; emptyDir is world-writable.
		os.Chmod(p, 0o777)
		return p, false, ownRoot(p, fsGroup, 0o777)
	case vol.HostPath != nil:
		p, err := hostPath(vol.HostPath)
		return p, false, err
	case vol.PersistentVolumeClaim != nil:
		p, err := s.claimPath(ctx, pod, vol.PersistentVolumeClaim.ClaimName)
		if err != nil {
			return "", false, err
		}
		return p, vol.PersistentVolumeClaim.ReadOnly, ownRoot(p, fsGroup, 0)
	case vol.ConfigMap != nil, vol.Secret != nil, vol.DownwardAPI != nil, vol.Projected != nil:
		p := filepath.Join(s.dir, kindDir(vol), vol.Name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return "", false, err
		}
		if err := s.writeAtomic(ctx, pod, vol, p); err != nil {
			return "", false, err
		}
		return p, true, ownRoot(p, fsGroup, 0)
	}
	return "", false, fmt.Errorf("volume %s: unsupported volume type on this local node", vol.Name)
}

func kindDir(vol *v1.Volume) string {
	switch {
	case vol.ConfigMap != nil:
		return "configmap"
	case vol.Secret != nil:
		return "secret"
	case vol.DownwardAPI != nil:
		return "downward-api"
	}
	return "projected"
}

func fsGroupOf(pod *v1.Pod) *int64 {
	if sc := pod.Spec.SecurityContext; sc != nil {
		return sc.FSGroup
	}
	return nil
}

// ownRoot gives a volume root to fsGroup with group rwx and setgid, as the
// kubelet does (only the root: a recursive change would break PGDATA's 0700).
func ownRoot(p string, fsGroup *int64, mode os.FileMode) error {
	if fsGroup == nil {
		return nil
	}
	if err := os.Lchown(p, -1, int(*fsGroup)); err != nil {
		return fmt.Errorf("fsGroup chown %s: %w", p, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return nil
	}
	if mode == 0 {
		mode = fi.Mode().Perm()
	}
	return os.Chmod(p, mode|0o070|os.ModeSetgid)
}

func hostPath(src *v1.HostPathVolumeSource) (string, error) {
	p := src.Path
	t := v1.HostPathUnset
	if src.Type != nil {
		t = *src.Type
	}
	fi, err := os.Stat(p)
	switch t {
	case v1.HostPathDirectoryOrCreate:
		if err != nil {
			return p, os.MkdirAll(p, 0o755)
		}
	case v1.HostPathFileOrCreate:
		if err != nil {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return "", err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return "", err
			}
			return p, f.Close()
		}
	case v1.HostPathDirectory:
		if err != nil || !fi.IsDir() {
			return "", waitf("hostPath type check failed: %s is not a directory", p)
		}
	case v1.HostPathFile:
		if err != nil || !fi.Mode().IsRegular() {
			return "", waitf("hostPath type check failed: %s is not a file", p)
		}
	case v1.HostPathUnset:
		// The shim creates a missing source as a directory, like the kubelet.
		if err != nil {
			return p, os.MkdirAll(p, 0o755)
		}
	default:
		if err != nil {
			return "", waitf("hostPath type check failed: %s does not exist", p)
		}
	}
	return p, nil
}

// Teardown unmounts what Setup mounted on the host and removes the directory.
func (s *Set) Teardown() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for _, p := range s.tmpfs {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && err != unix.EINVAL && first == nil {
			first = err
		}
	}
	s.tmpfs = nil
	if first != nil {
		return first
	}
	return os.RemoveAll(s.dir)
}
