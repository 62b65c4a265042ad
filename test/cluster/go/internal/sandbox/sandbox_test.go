package sandbox

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

func TestNames(t *testing.T) {
	ns, veth := Names("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
	if ns != "kpg-0f1e2d3c4b" || veth != "kpgv0f1e2d3c4b" || len(veth) > 15 {
		t.Fatalf("%s %s", ns, veth)
	}
}

func TestGroupAlive(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !GroupAlive(cmd.Process.Pid) {
		t.Fatal("group should be alive")
	}
	go cmd.Wait()
	KillGroup(cmd.Process.Pid)
	if GroupAlive(cmd.Process.Pid) {
		t.Fatal("group should be gone")
	}
	if GroupAlive(os.Getpid() + 1000000) {
		t.Fatal("nonexistent group alive")
	}
}

func TestMACFor(t *testing.T) {
	if m := MACFor("10.244.2.17"); m != "02:42:0a:f4:02:11" {
		t.Fatal(m)
	}
}
