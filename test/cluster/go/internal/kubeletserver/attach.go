package kubeletserver

import (
	"context"
	"errors"
	"io"
	"time"

	"k8s.io/cri-streaming/pkg/streaming/remotecommand"

	"kpg.local/cluster/internal/podapi"
)

// attacher approximates attach: podapi gives no handle on the container's
// own stdio, so attach streams the container's output from now on (what
// `kubectl attach` and `kubectl run --attach` mostly need) and discards
// stdin. It ends when the container instance ends.
type attacher struct {
	c  podapi.Container
	lk podapi.Lookup
}

var _ remotecommand.Attacher = attacher{}

func (a attacher) AttachContainer(ctx context.Context, _, _, container string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	if in != nil {
		go io.Copy(io.Discard, in)
	}
	go func() {
		for range resize {
		}
	}()
	path, err := a.lk.LogPath(a.c.Namespace, a.c.Pod, container, false)
	if err != nil {
		return err
	}
	if path == "" {
		return errors.New("container has no log")
	}
	var stdout, stderr io.Writer
	if out != nil {
		stdout = out
	}
	if errw != nil {
		stderr = errw
	}
	if tty && stderr == nil {
		stderr = stdout // a terminal has a single output
	}
	h := &handler{lk: a.lk}
	rt := route{namespace: a.c.Namespace, pod: a.c.Pod, container: container}
	o := logOptions{Follow: true, TailLines: 0, LimitBytes: -1, Since: time.Time{}, Stdout: true, Stderr: true}
	return streamLog(ctx, path, o, stdout, stderr, func() {}, h.instanceRunning(rt, path))
}
