// Command kpg-node plays the kubelet for several fake nodes of the local test
// cluster and runs their pods as isolated process trees (see
// test/cluster/README.md). `kpg-node shim <spec>` is the in-sandbox helper
// that starts one container.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"kpg.local/cluster/internal/faults"
	"kpg.local/cluster/internal/images"
	"kpg.local/cluster/internal/kubeletserver"
	"kpg.local/cluster/internal/node"
	"kpg.local/cluster/internal/pods"
	"kpg.local/cluster/internal/provisioner"
	"kpg.local/cluster/internal/relay"
	"kpg.local/cluster/internal/sandbox"
	"kpg.local/cluster/internal/shim"
	"kpg.local/cluster/internal/svcnames"
)

type options struct {
	kubeconfig, namePrefix, stateDir, tlsCert, tlsKey, clientCA, pvDir, apiserver, pgRoot, faultsSocket string
	nodes, portBase                                                                                     int
	restartBackoff, stopGrace                                                                           time.Duration
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "pause" {
		shim.Pause()
	}
	if len(os.Args) == 3 && os.Args[1] == "shim" {
		shim.Main(os.Args[2])
	}
	var o options
	fs := flag.NewFlagSet("kpg-node", flag.ExitOnError)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the agent (needs node, pod, lease, token and event rights)")
	fs.IntVar(&o.nodes, "nodes", 3, "number of fake nodes")
	fs.StringVar(&o.namePrefix, "name-prefix", "kpg-worker-", "node name prefix; nodes are <prefix>1..N")
	fs.IntVar(&o.portBase, "kubelet-port-base", 10250, "node i serves its kubelet API on 127.0.0.1:<base+i-1>")
	fs.StringVar(&o.stateDir, "state-dir", "/work/main/.cluster", "holds pods/ (state files, pod dirs), logs/, bin/kubectl and bin/versitygw")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "kubelet serving certificate")
	fs.StringVar(&o.tlsKey, "tls-key", "", "kubelet serving key")
	fs.StringVar(&o.clientCA, "client-ca", "", "CA that signs the apiserver's kubelet client certificate")
	fs.StringVar(&o.pvDir, "pv-dir", "", "where the hostPath provisioner creates volumes (default <state-dir>/pv)")
	fs.DurationVar(&o.restartBackoff, "restart-backoff", 10*time.Second, "initial container restart back-off (doubles, capped at 5m)")
	fs.StringVar(&o.apiserver, "apiserver", "127.0.0.1:6443", "host address the in-pod relay on 127.0.0.1:6443 forwards to")
	fs.StringVar(&o.pgRoot, "pg-root", "/usr/lib/postgresql", "directory of installed PostgreSQL majors")
	fs.DurationVar(&o.stopGrace, "stop-grace", 10*time.Second, "grace cap for pods when the agent stops")
	fs.StringVar(&o.faultsSocket, "faults-socket", "", "unix socket of the fault-injection endpoint (default <state-dir>/run/kpg-node-faults.sock)")
	klog.InitFlags(fs)
	fs.Parse(os.Args[1:])
	if o.pvDir == "" {
		o.pvDir = filepath.Join(o.stateDir, "pv")
	}
	if o.faultsSocket == "" {
		o.faultsSocket = filepath.Join(o.stateDir, "run", "kpg-node-faults.sock")
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "kpg-node:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("must run as root (network namespaces, bridge, mounts)")
	}
	// Files handed to containers (/etc/passwd, mount points, volumes) must
	// be readable by their users whatever umask started us; containers also
	// inherit it, and 022 is what a container runtime gives them.
	unix.Umask(0o022)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = "kpg-node"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for _, d := range []string{"pods", "logs/pods"} {
		if err := os.MkdirAll(filepath.Join(o.stateDir, d), 0o755); err != nil {
			return err
		}
	}
	if err := lockStateDir(o.stateDir); err != nil {
		return err
	}
	pods.CleanupLeftovers(o.stateDir)
	faults.RemoveTable()
	if err := sandbox.EnsureBridge(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	var specs []node.Spec
	var names []string
	cidrs := map[string]string{}
	for i := 1; i <= o.nodes; i++ {
		s := node.Spec{Name: fmt.Sprintf("%s%d", o.namePrefix, i), KubeletPort: int32(o.portBase + i - 1), PodCIDR: pods.NodeCIDR(i)}
		specs, names = append(specs, s), append(names, s.Name)
		cidrs[s.Name] = s.PodCIDR
	}
	fstate := faults.NewState()
	for _, s := range specs {
		for {
			err := node.Register(ctx, cs, s)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return cleanup()
			}
			klog.Warningf("register %s: %v (retrying)", s.Name, err)
			time.Sleep(time.Second)
		}
		klog.Infof("registered node %s (kubelet port %d)", s.Name, s.KubeletPort)
	}
	go node.Heartbeat(ctx, cs, specs, node.Faults{Silent: fstate.Silent, Changed: fstate.Changed})

	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	recorder := broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: "kubelet", Host: "kpg-node"})

	table := svcnames.Start(ctx, cs)
	go func() {
		if err := provisioner.Run(ctx, cs, o.pvDir); err != nil && ctx.Err() == nil {
			klog.Errorf("provisioner: %v", err)
		}
	}()

	// What images run: the host's PostgreSQL, Node.js and rclone, and the
	// kubectl and versitygw that build.sh links into <state-dir>/bin.
	bin := filepath.Join(o.stateDir, "bin")
	imgs := images.WithHostRclone(images.WithVersitygw(images.WithHostNode(
		images.Resolver{PGRoot: o.pgRoot, KubectlDir: bin}), filepath.Join(bin, "versitygw")))

	factory := informers.NewSharedInformerFactory(cs, 0)
	m := pods.New(pods.Config{
		CS: cs, Nodes: names, StateDir: o.stateDir, Self: self, APIServer: o.apiserver,
		RestartBackoff: o.restartBackoff,
		Images:         imgs,
		Hosts:          table,
		Relay: func(ctx context.Context, nodeName, netnsPath, listenAddr, target string) error {
			return relay.ListenInNetNS(ctx, netnsPath, listenAddr, target, fstate.RelayFaults(nodeName, netnsPath))
		},
		NodeAllocatable: node.Capacity, Recorder: recorder, Faults: fstate,
	}, factory)
	factory.Start(ctx.Done())

	ctl := &faults.Controller{State: fstate, RT: m, CIDR: func(n string) (string, bool) { c, ok := cidrs[n]; return c, ok }}
	go func() {
		if err := ctl.Serve(ctx, o.faultsSocket); err != nil && ctx.Err() == nil {
			klog.Errorf("faults endpoint %s: %v", o.faultsSocket, err)
		}
	}()

	for _, s := range specs {
		addr := fmt.Sprintf("127.0.0.1:%d", s.KubeletPort)
		down := func() (bool, <-chan struct{}) {
			ch := fstate.Changed()
			return fstate.KubeletDown(s.Name), ch
		}
		go func() {
			if err := kubeletserver.Serve(ctx, addr, o.tlsCert, o.tlsKey, o.clientCA, m, down); err != nil && ctx.Err() == nil {
				klog.Errorf("kubelet server %s: %v", addr, err)
			}
		}()
	}
	klog.Infof("kpg-node running %d nodes", len(specs))
	m.Run(ctx, o.stopGrace)
	return cleanup()
}

// cleanup removes what is left of the sandboxes and the bridge.
func cleanup() error {
	faults.RemoveTable()
	sandbox.CleanupAll()
	if err := sandbox.RemoveBridge(); err != nil {
		return err
	}
	klog.Info("kpg-node stopped")
	return nil
}
