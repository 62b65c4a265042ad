package pods

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMountPointsRemovedWhenUnused(t *testing.T) {
	d := t.TempDir()
	cfg := filepath.Join(d, "etc", "cfg")
	os.MkdirAll(cfg, 0o755)
	f := filepath.Join(d, "termination-log")
	os.WriteFile(f, nil, 0o644)
	full := filepath.Join(d, "full")
	os.WriteFile(full, []byte("data"), 0o644)
	log := filepath.Join(d, "created")
	os.WriteFile(log, []byte(filepath.Join(d, "etc")+"\n"+cfg+"\n"+f+"\n"+full+"\n"), 0o644)

	mp := newMountPoints()
	a, b := &proc{}, &proc{}
	mp.started(a, []string{cfg, f}, log)
	mp.started(b, []string{cfg}, filepath.Join(d, "none"))
	mp.exited(a)
	if _, err := os.Stat(cfg); err != nil {
		t.Fatal("cfg removed while b still mounts it")
	}
	if _, err := os.Stat(f); !os.IsNotExist(err) {
		t.Error("unused empty file not removed")
	}
	mp.exited(b)
	if _, err := os.Stat(filepath.Join(d, "etc")); !os.IsNotExist(err) {
		t.Error("unused empty dirs not removed")
	}
	if _, err := os.Stat(full); err != nil {
		t.Error("a non-empty file must stay")
	}
}
