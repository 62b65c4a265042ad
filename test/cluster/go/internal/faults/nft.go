package faults

import (
	"fmt"
	"os/exec"
	"strings"
)

// Pod traffic is filtered on the bridge itself: every pod of every node is a
// port (kpgv*) of kpg0, so a table of the nftables bridge family sees each
// frame between two pods, and between a pod and the host, without any
// per-pod state. A node's pods all live in its /24 (see pods.NodeCIDR), so
// one pair of rules per node also covers pods created after the fault.
// Dropped, not rejected: peers see timeouts, as across a real partition.

// Table is the nftables table kpg-node owns (family bridge).
const Table = "kpg_faults"

// NodeCIDRFunc maps a node name to its pod CIDR.
type NodeCIDRFunc func(node string) (string, bool)

// Ruleset renders the whole table for the faults in s: the previous table
// is replaced in the same transaction, so there is never a moment without
// the rules of a fault that stays.
func Ruleset(s Snapshot, cidr NodeCIDRFunc) string {
	var pre, out []string
	for _, name := range s.FaultedNodes() {
		n := s.Nodes[name]
		c, ok := cidr(name)
		if !ok {
			continue
		}
		switch {
		case n.Lost:
			// A dead machine: nothing in or out, not even between its own
			// pods.
			pre = append(pre,
				fmt.Sprintf("iifname \"kpgv*\" ip saddr %s drop", c),
				fmt.Sprintf("iifname \"kpgv*\" ip daddr %s drop", c))
		case n.Partitioned:
			pre = append(pre,
				fmt.Sprintf("iifname \"kpgv*\" ip saddr %s ip daddr != %s drop", c, c),
				fmt.Sprintf("iifname \"kpgv*\" ip daddr %s ip saddr != %s drop", c, c))
		default:
			continue
		}
		// From the host (the test runner, kpg-node's own dials) to the pods.
		out = append(out, fmt.Sprintf("ip daddr %s drop", c))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "table bridge %s {}\ndelete table bridge %s\n", Table, Table)
	if len(pre) == 0 {
		return b.String()
	}
	fmt.Fprintf(&b, "table bridge %s {\n", Table)
	chain := func(name, hook string, rules []string) {
		fmt.Fprintf(&b, "\tchain %s {\n\t\ttype filter hook %s priority 0; policy accept;\n", name, hook)
		for _, r := range rules {
			fmt.Fprintf(&b, "\t\t%s\n", r)
		}
		b.WriteString("\t}\n")
	}
	chain("prerouting", "prerouting", pre)
	chain("output", "output", out)
	b.WriteString("}\n")
	return b.String()
}

// ApplyNft loads a ruleset with nft(8).
func ApplyNft(ruleset string) error {
	if _, err := exec.LookPath("nft"); err != nil {
		return fmt.Errorf("nft not found (Debian package nftables; bash test/cluster/setup.sh installs it): %w", err)
	}
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft -f: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// RemoveTable deletes the table if it exists (at start and exit).
func RemoveTable() {
	if _, err := exec.LookPath("nft"); err != nil {
		return
	}
	exec.Command("nft", "delete", "table", "bridge", Table).Run()
}
