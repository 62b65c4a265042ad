package hostsfile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestHosts(t *testing.T) {
	h := string(Hosts("10.244.1.2", "db-0", "db-0.db.ns.svc.cluster.local", []byte("10.244.1.3 db-rw db-rw.ns")))
	for _, want := range []string{"127.0.0.1\tlocalhost\n", "10.244.1.2\tdb-0.db.ns.svc.cluster.local\tdb-0\n", "10.244.1.3 db-rw db-rw.ns\n"} {
		if !strings.Contains(h, want) {
			t.Errorf("missing %q in\n%s", want, h)
		}
	}
	if h2 := string(Hosts("10.244.1.2", "web", "", nil)); !strings.HasSuffix(h2, "10.244.1.2\tweb\n") {
		t.Errorf("no fqdn: %q", h2)
	}
}

func TestResolv(t *testing.T) {
	want := "search ns.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
	if got := string(Resolv("ns")); got != want {
		t.Errorf("got %q", got)
	}
}

func TestPasswdGroup(t *testing.T) {
	p := string(Passwd(User{"postgres", 999, 999, "/var/lib/postgresql"}, User{"dup", 0, 0, "/"}))
	if !strings.Contains(p, "postgres:x:999:999:postgres:/var/lib/postgresql:/bin/bash\n") || strings.Contains(p, "dup") {
		t.Errorf("passwd:\n%s", p)
	}
	g := string(Group(map[int64]string{999: "postgres", 2000: "g2000"}, map[int64][]string{2000: {"postgres"}}))
	if !strings.Contains(g, "postgres:x:999:\n") || !strings.Contains(g, "g2000:x:2000:postgres\n") || !strings.HasPrefix(g, "root:x:0:") {
		t.Errorf("group:\n%s", g)
	}
}

func TestWriteInPlaceKeepsInode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hosts")
	if err := WriteInPlace(p, []byte("a long first version\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var st1, st2 syscall.Stat_t
	syscall.Stat(p, &st1)
	if err := WriteInPlace(p, []byte("short\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	syscall.Stat(p, &st2)
	b, _ := os.ReadFile(p)
	if string(b) != "short\n" || st1.Ino != st2.Ino {
		t.Fatalf("content %q inode %d→%d", b, st1.Ino, st2.Ino)
	}
}
