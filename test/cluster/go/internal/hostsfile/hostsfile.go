// Package hostsfile renders the small files a container sees instead of the
// host's (/etc/hosts, /etc/resolv.conf, /etc/passwd, /etc/group) and rewrites
// them in place: they are bind-mounted, so replacing the inode by a rename
// would leave containers reading the old file.
package hostsfile

import (
	"bytes"
	"fmt"
	"os"
	"sort"
)

// Hosts renders a kubelet-style hosts file. fqdn may be empty; services are
// extra lines ("IP name ...") appended as given.
func Hosts(podIP, hostname, fqdn string, services []byte) []byte {
	var b bytes.Buffer
	b.WriteString("# Kubernetes-managed hosts file.\n")
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
	if podIP != "" {
		if fqdn != "" {
			fmt.Fprintf(&b, "%s\t%s\t%s\n", podIP, fqdn, hostname)
		} else {
			fmt.Fprintf(&b, "%s\t%s\n", podIP, hostname)
		}
	}
	if len(services) > 0 {
		b.WriteString("# Services\n")
		b.Write(services)
		if services[len(services)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// Resolv renders resolv.conf. There is no DNS server: names come from the
// hosts file, the search path only makes short names behave as in a cluster.
func Resolv(namespace string) []byte {
	return []byte(fmt.Sprintf("search %s.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n", namespace))
}

// User is one passwd entry.
type User struct {
	Name     string
	UID, GID int64
	Home     string
}

// Passwd renders /etc/passwd with the standard accounts plus users.
func Passwd(users ...User) []byte {
	all := append([]User{{"root", 0, 0, "/root"}, {"nobody", 65534, 65534, "/nonexistent"}}, users...)
	var b bytes.Buffer
	seen := map[int64]bool{}
	for _, u := range all {
		if seen[u.UID] {
			continue
		}
		seen[u.UID] = true
		shell := "/bin/bash"
		if u.UID == 65534 {
			shell = "/usr/sbin/nologin"
		}
		fmt.Fprintf(&b, "%s:x:%d:%d:%s:%s:%s\n", u.Name, u.UID, u.GID, u.Name, u.Home, shell)
	}
	return b.Bytes()
}

// Group renders /etc/group; groups maps gid → name, members maps gid → user
// names that have it as a supplementary group.
func Group(groups map[int64]string, members map[int64][]string) []byte {
	all := map[int64]string{0: "root", 65534: "nogroup"}
	for g, n := range groups {
		all[g] = n
	}
	gids := make([]int64, 0, len(all))
	for g := range all {
		gids = append(gids, g)
	}
	sort.Slice(gids, func(i, j int) bool { return gids[i] < gids[j] })
	var b bytes.Buffer
	for _, g := range gids {
		ms := members[g]
		fmt.Fprintf(&b, "%s:x:%d:%s\n", all[g], g, join(ms))
	}
	return b.Bytes()
}

func join(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(x)
	}
	return b.String()
}

// WriteInPlace overwrites path keeping its inode: write at offset 0, then cut
// the tail. A reader sees the old content, the new one, or the new one followed
// by the old tail for an instant, never an empty file. The file is created
// when missing.
func WriteInPlace(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, mode)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(data, 0); err != nil {
		return err
	}
	return f.Truncate(int64(len(data)))
}
