package shim

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestMissing(t *testing.T) {
	d := t.TempDir()
	os.MkdirAll(filepath.Join(d, "a"), 0o755)
	got := missing(filepath.Join(d, "a", "b", "c"))
	want := []string{filepath.Join(d, "a", "b"), filepath.Join(d, "a", "b", "c")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v want %v", got, want)
	}
	if m := missing(filepath.Join(d, "a")); len(m) != 0 {
		t.Errorf("existing path: %v", m)
	}
}

func TestUnder(t *testing.T) {
	roots := []string{"/tmp", "/var/lib/postgresql"}
	for p, want := range map[string]bool{"/tmp": true, "/tmp/x": true, "/tmpx": false, "/var/lib/postgresql/data": true, "/etc": false} {
		if under(p, roots) != want {
			t.Errorf("under(%q) != %v", p, want)
		}
	}
}

func TestLookPath(t *testing.T) {
	d := t.TempDir()
	exe := filepath.Join(d, "tool")
	os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755)
	if p, err := lookPath("tool", []string{"PATH=/nonexistent:" + d}); err != nil || p != exe {
		t.Errorf("got %q %v", p, err)
	}
	if _, err := lookPath("tool", []string{"PATH=/nonexistent"}); err == nil {
		t.Error("must fail outside PATH")
	}
	if p, _ := lookPath("./rel", nil); p != "./rel" {
		t.Errorf("paths with / are used as given: %q", p)
	}
}
