package faults

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The control endpoint is HTTP on a unix socket (root only, no port to
// collide with):
//
//	GET  /faults                              the Snapshot
//	POST /nodes/<node>/lose[?kill=true]
//	POST /nodes/<node>/restore
//	POST /nodes/<node>/partition[?kubelet=cut]
//	POST /nodes/<node>/heal
//	POST /nodes/<node>/break-kubelet, /nodes/<node>/fix-kubelet
//	POST /apiserver/slow?latencyMs=N[&timeout=true]
//	POST /apiserver/restore
//	POST /relay/cut?netns=PATH, /relay/heal?netns=PATH   one pod's API relay hangs
//
// Every POST answers once the fault is in effect, with a Result as JSON.

// Handler serves the control endpoint.
func (c *Controller) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, code, err := c.route(r)
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(code)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		json.NewEncoder(w).Encode(res)
	})
}

var errNotFound = errors.New("no such fault endpoint")

func (c *Controller) route(r *http.Request) (any, int, error) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	if r.Method == http.MethodGet {
		if r.URL.Path == "/faults" {
			return c.State.Snapshot(), 0, nil
		}
		return nil, http.StatusNotFound, errNotFound
	}
	if r.Method != http.MethodPost {
		return nil, http.StatusMethodNotAllowed, errors.New("method not allowed")
	}
	var res Result
	var err error
	switch {
	case len(parts) == 3 && parts[0] == "nodes":
		node := parts[1]
		switch parts[2] {
		case "lose":
			res, err = c.LoseNode(node, q.Get("kill") == "true")
		case "restore":
			res, err = c.RestoreNode(node)
		case "partition":
			res, err = c.PartitionNode(node, q.Get("kubelet") == "cut")
		case "heal":
			res, err = c.HealNode(node)
		case "break-kubelet", "fix-kubelet":
			res, err = c.BreakKubelet(node, parts[2] == "break-kubelet")
		default:
			return nil, http.StatusNotFound, errNotFound
		}
	case len(parts) == 2 && parts[0] == "apiserver" && parts[1] == "slow":
		ms, perr := strconv.Atoi(q.Get("latencyMs"))
		if perr != nil && q.Get("latencyMs") != "" {
			return nil, http.StatusBadRequest, errors.New("latencyMs must be an integer")
		}
		res = c.SlowAPI(API{LatencyMs: ms, Timeout: q.Get("timeout") == "true"})
	case len(parts) == 2 && parts[0] == "apiserver" && parts[1] == "restore":
		res = c.SlowAPI(API{})
	case len(parts) == 2 && parts[0] == "relay" && (parts[1] == "cut" || parts[1] == "heal"):
		netns := q.Get("netns")
		if netns == "" {
			return nil, http.StatusBadRequest, errors.New("netns is required")
		}
		c.State.CutRelay(netns, parts[1] == "cut")
		res = Result{Snapshot: c.State.Snapshot()}
	default:
		return nil, http.StatusNotFound, errNotFound
	}
	if err != nil {
		code := http.StatusInternalServerError
		if strings.HasPrefix(err.Error(), "no node ") {
			code = http.StatusNotFound
		}
		return nil, code, err
	}
	return res, 0, nil
}

// Serve runs the control endpoint on the unix socket at path until ctx
// ends, then resets every fault.
func (c *Controller) Serve(ctx context.Context, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	os.Chmod(path, 0o600)
	srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	err = srv.Serve(ln)
	c.Reset()
	os.Remove(path)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
