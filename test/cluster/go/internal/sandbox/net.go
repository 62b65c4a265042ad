// Package sandbox owns a pod's isolation on the host: its network namespace,
// the veth pair into the kpg0 bridge, and the processes living in it.
package sandbox

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Network layout shared by every pod of every fake node.
const (
	Bridge    = "kpg0"
	Gateway   = "10.244.0.1"
	PrefixLen = 16
	// bridgeMAC is fixed so that the bridge keeps one MAC while ports come
	// and go; otherwise pods' ARP entries for the gateway go stale.
	bridgeMAC = "02:6b:70:67:00:01"
	NetNSDir  = "/run/netns"
	// NamePrefix starts every netns this agent creates.
	NamePrefix = "kpg-"
)

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// EnsureBridge creates kpg0 with the gateway address, idempotently.
func EnsureBridge() error {
	if _, err := os.Stat("/sys/class/net/" + Bridge); err != nil {
		if err := ip("link", "add", Bridge, "address", bridgeMAC, "type", "bridge"); err != nil {
			return err
		}
	}
	out, _ := exec.Command("ip", "-o", "addr", "show", "dev", Bridge).Output()
	if !strings.Contains(string(out), fmt.Sprintf(" %s/%d ", Gateway, PrefixLen)) {
		if err := ip("addr", "add", fmt.Sprintf("%s/%d", Gateway, PrefixLen), "dev", Bridge); err != nil {
			return err
		}
	}
	if err := ip("link", "set", Bridge, "up"); err != nil {
		return err
	}
	return allowBridgedTraffic()
}

// allowBridgedTraffic: with bridge-nf-call-iptables=1 bridged frames traverse
// the iptables FORWARD chain; a DROP policy there (Docker sets one) would cut
// pod-to-pod traffic. Without iptables installed there is no such chain.
func allowBridgedTraffic() error {
	for _, bin := range []string{"iptables", "iptables-legacy", "iptables-nft"} {
		if _, err := exec.LookPath(bin); err != nil {
			continue
		}
		rule := []string{"FORWARD", "-i", Bridge, "-o", Bridge, "-j", "ACCEPT"}
		if exec.Command(bin, append([]string{"-C"}, rule...)...).Run() != nil {
			if out, err := exec.Command(bin, append([]string{"-I"}, rule...)...).CombinedOutput(); err != nil {
				return fmt.Errorf("%s: %v: %s", bin, err, out)
			}
		}
		return nil
	}
	return nil
}

// RemoveBridge deletes kpg0 (and the iptables rule, if any).
func RemoveBridge() error {
	for _, bin := range []string{"iptables", "iptables-legacy", "iptables-nft"} {
		if _, err := exec.LookPath(bin); err == nil {
			exec.Command(bin, "-D", "FORWARD", "-i", Bridge, "-o", Bridge, "-j", "ACCEPT").Run()
			break
		}
	}
	if _, err := os.Stat("/sys/class/net/" + Bridge); err != nil {
		return nil
	}
	return ip("link", "del", Bridge)
}

// Sandbox is one pod's network namespace and veth pair.
type Sandbox struct {
	Name     string // netns name, kpg-<short uid>
	Path     string // /run/netns/<Name>
	HostVeth string
	IP       string
	// pause holds the pod's shared PID namespace, when it has one.
	pause *exec.Cmd
}

// StartPause gives the pod one PID namespace for all its containers
// (shareProcessNamespace), held by `self pause`.
func (s *Sandbox) StartPause(self string) error {
	cmd := exec.Command(self, "pause")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := Start(cmd, s.Path, ""); err != nil {
		return fmt.Errorf("pause process: %w", err)
	}
	go cmd.Wait()
	s.pause = cmd
	return nil
}

// PIDNS is the shared PID namespace to join, or "" for one per container.
func (s *Sandbox) PIDNS() string {
	if s.pause == nil {
		return ""
	}
	return fmt.Sprintf("/proc/%d/ns/pid", s.pause.Process.Pid)
}

// Names derives the netns and host veth names from a pod UID.
func Names(uid string) (netns, hostVeth string) {
	short := strings.ReplaceAll(uid, "-", "")
	if len(short) > 10 {
		short = short[:10]
	}
	return NamePrefix + short, "kpgv" + short
}

// Create builds the namespace: lo up, eth0 with podIP/16, default route via
// the bridge. A half-built sandbox is removed on error.
func Create(uid, podIP string) (*Sandbox, error) {
	name, veth := Names(uid)
	s := &Sandbox{Name: name, Path: filepath.Join(NetNSDir, name), HostVeth: veth, IP: podIP}
	steps := [][]string{
		{"netns", "add", name},
		{"link", "add", veth, "type", "veth", "peer", "name", "eth0", "address", MACFor(podIP), "netns", name},
		{"link", "set", veth, "master", Bridge},
		{"link", "set", veth, "up"},
		{"-n", name, "link", "set", "lo", "up"},
		{"-n", name, "addr", "add", fmt.Sprintf("%s/%d", podIP, PrefixLen), "dev", "eth0"},
		{"-n", name, "link", "set", "eth0", "up"},
		{"-n", name, "route", "add", "default", "via", Gateway, "dev", "eth0", "onlink"},
	}
	for _, st := range steps {
		if err := ip(st...); err != nil {
			s.Destroy()
			return nil, err
		}
	}
	return s, nil
}

// MACFor derives eth0's MAC from the pod IP (02:42 + the four address bytes,
// as Docker's bridge does). Should an address ever come back to a new pod,
// peers' neighbour entries for it still hold the right MAC: nothing has to
// be re-learnt before the pod is reachable.
func MACFor(podIP string) string {
	ip := net.ParseIP(podIP).To4()
	if ip == nil {
		return "02:42:00:00:00:00"
	}
	return fmt.Sprintf("02:42:%02x:%02x:%02x:%02x", ip[0], ip[1], ip[2], ip[3])
}

// Destroy kills every process left in the namespace and removes it with its
// veth pair. Processes must be gone first: a netns outlives its mount point
// while anything is inside it.
func (s *Sandbox) Destroy() error {
	if s.pause != nil {
		s.pause.Process.Kill()
	}
	KillNetNS(s.Path)
	if _, err := os.Stat("/sys/class/net/" + s.HostVeth); err == nil {
		ip("link", "del", s.HostVeth)
	}
	if _, err := os.Stat(s.Path); err == nil {
		return ip("netns", "del", s.Name)
	}
	return nil
}

// Leftovers lists netns names with our prefix.
func Leftovers() []string {
	ents, _ := os.ReadDir(NetNSDir)
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), NamePrefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// CleanupAll removes every kpg netns (killing what runs inside) and every
// veth still attached to the bridge.
func CleanupAll() {
	for _, n := range Leftovers() {
		(&Sandbox{Name: n, Path: filepath.Join(NetNSDir, n)}).Destroy()
	}
	ents, _ := os.ReadDir("/sys/class/net/" + Bridge + "/brif")
	for _, e := range ents {
		ip("link", "del", e.Name())
	}
}
