package kubeletserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kpg.local/cluster/internal/podapi"
)

// stubLookup knows pod default/web with container app, not running.
type stubLookup struct{ logPath string }

func (s stubLookup) Container(ns, pod, c string) (podapi.Container, error) {
	if ns == "default" && pod == "web" && c == "app" {
		return podapi.Container{}, podapi.ErrNotRunning
	}
	return podapi.Container{}, podapi.ErrNotFound
}
func (s stubLookup) LogPath(ns, pod, c string, previous bool) (string, error) {
	if ns == "default" && pod == "web" && c == "app" && !previous {
		return s.logPath, nil
	}
	return "", podapi.ErrNotFound
}
func (s stubLookup) DefaultContainer(ns, pod string) (string, error) {
	if ns == "default" && pod == "web" {
		return "app", nil
	}
	return "", podapi.ErrNotFound
}

func TestHandlerErrors(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "0.log")
	os.WriteFile(logPath, []byte("2026-11-22T01:02:03Z stdout F done\n"), 0o644)
	srv := httptest.NewServer(&handler{lk: stubLookup{logPath: logPath}})
	defer srv.Close()
	tests := []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/healthz", 200, "ok"},
		{"GET", "/containerLogs/default/web/app", 200, "done\n"},
		{"GET", "/containerLogs/default/web/app?follow=true", 200, "done\n"}, // not running: ends at EOF
		{"GET", "/containerLogs/default/web/app?previous=true", 400, `previous terminated container "app" in pod "web" not found`},
		{"GET", "/containerLogs/default/web/nope", 404, `container "nope" not found in pod "web"`},
		{"GET", "/containerLogs/default/nope/app", 404, `pod "nope" does not exist`},
		{"GET", "/containerLogs/default/web/app?tailLines=x", 400, "Invalid request"},
		{"POST", "/exec/default/web/app?command=true&output=1", 400, `container "app" in pod "web" is not running`},
		{"POST", "/exec/default/web/nope?command=true&output=1", 404, `container "nope" not found in pod "web"`},
		{"POST", "/exec/default/gone/app?command=true&output=1", 404, `pod "gone" does not exist`},
		{"POST", "/exec/default/web/app?command=true", 400, "you must specify at least 1 of stdin, stdout, stderr"},
		{"POST", "/portForward/default/gone", 404, `pod "gone" does not exist`},
		{"GET", "/pods", 404, ""},
		{"DELETE", "/exec/default/web/app", 405, ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.body) {
			t.Errorf("%s %s: got %d %q, want %d %q", tt.method, tt.path, resp.StatusCode, b, tt.code, tt.body)
		}
	}
	// With client certificates required, plain requests are refused.
	srv2 := httptest.NewServer(newHandler(stubLookup{logPath: logPath}))
	defer srv2.Close()
	if resp, err := http.Get(srv2.URL + "/containerLogs/default/web/app"); err != nil || resp.StatusCode != 401 {
		t.Errorf("no client cert: %v %v", resp, err)
	}
}
