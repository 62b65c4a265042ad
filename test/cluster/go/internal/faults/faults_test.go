package faults

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

var cidrs = map[string]string{"n1": "10.244.1.0/24", "n2": "10.244.2.0/24"}

func cidr(n string) (string, bool) { c, ok := cidrs[n]; return c, ok }

func TestRuleset(t *testing.T) {
	empty := Ruleset(Snapshot{}, cidr)
	if strings.Contains(empty, "chain") || !strings.Contains(empty, "delete table bridge kpg_faults") {
		t.Fatalf("no faults must only drop the table:\n%s", empty)
	}
	part := Ruleset(Snapshot{Nodes: map[string]Node{"n2": {Partitioned: true}, "nX": {Partitioned: true}}}, cidr)
	for _, want := range []string{
		`iifname "kpgv*" ip saddr 10.244.2.0/24 ip daddr != 10.244.2.0/24 drop`,
		`iifname "kpgv*" ip daddr 10.244.2.0/24 ip saddr != 10.244.2.0/24 drop`,
		"hook output", "ip daddr 10.244.2.0/24 drop",
	} {
		if !strings.Contains(part, want) {
			t.Errorf("partition ruleset lacks %q:\n%s", want, part)
		}
	}
	if strings.Contains(part, "10.244.1.") {
		t.Errorf("healthy node n1 must not be filtered:\n%s", part)
	}
	lost := Ruleset(Snapshot{Nodes: map[string]Node{"n1": {Lost: true, Partitioned: true}}}, cidr)
	if !strings.Contains(lost, `iifname "kpgv*" ip saddr 10.244.1.0/24 drop`) || strings.Contains(lost, "!=") {
		t.Errorf("a lost node drops everything, same-node traffic included:\n%s", lost)
	}
	// The kernel is the judge of the syntax, when we may ask it.
	if _, err := exec.LookPath("nft"); err == nil && os.Geteuid() == 0 {
		for _, rs := range []string{empty, part, lost} {
			cmd := exec.Command("nft", "-c", "-f", "-")
			cmd.Stdin = strings.NewReader(rs)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("nft -c rejects:\n%s\n%v: %s", rs, err, out)
			}
		}
	}
}

func TestState(t *testing.T) {
	s := NewState()
	ch := s.Changed()
	s.SetNode("n1", Node{Partitioned: true})
	select {
	case <-ch:
	default:
		t.Fatal("Changed not closed by SetNode")
	}
	if !s.Silent("n1") || s.Lost("n1") || s.KubeletDown("n1") || s.Silent("n2") {
		t.Errorf("partitioned n1: silent %v lost %v kubeletDown %v; n2 silent %v", s.Silent("n1"), s.Lost("n1"), s.KubeletDown("n1"), s.Silent("n2"))
	}
	s.SetNode("n1", Node{Partitioned: true, KubeletCut: true})
	if !s.KubeletDown("n1") {
		t.Error("kubelet cut must make it down")
	}
	if c := s.RelayConditions("n1", ""); !c.Hang {
		t.Error("partitioned node's relay must hang")
	}
	s.SetNode("n3", Node{KubeletBroken: true})
	if !s.KubeletDown("n3") || s.Silent("n3") || s.Lost("n3") || s.RelayConditions("n3", "").Hang {
		t.Error("a broken kubelet hangs its API only: heartbeat, relay and pods go on")
	}
	s.SetNode("n3", Node{})
	s.SetAPI(API{LatencyMs: 300})
	if c := s.RelayConditions("n2", ""); c.Hang || c.Latency != 300*time.Millisecond {
		t.Errorf("n2 relay %+v", c)
	}
	s.SetAPI(API{Timeout: true})
	if c := s.RelayConditions("n2", ""); !c.Hang {
		t.Error("API timeout must hang every relay")
	}
	s.SetNode("n1", Node{})
	if got := s.Snapshot().FaultedNodes(); len(got) != 0 {
		t.Errorf("cleared node still faulted: %v", got)
	}

	// WaitWhile returns when the condition ends, and on done.
	s.SetNode("n2", Node{Lost: true})
	back := make(chan bool)
	go func() { back <- s.WaitWhile(func() bool { return s.Lost("n2") }, nil) }()
	select {
	case <-back:
		t.Fatal("WaitWhile returned while lost")
	case <-time.After(50 * time.Millisecond):
	}
	s.SetNode("n2", Node{})
	if !<-back {
		t.Error("WaitWhile must report the condition ended")
	}
	done := make(chan struct{})
	close(done)
	s.SetNode("n2", Node{Lost: true})
	if s.WaitWhile(func() bool { return s.Lost("n2") }, done) {
		t.Error("WaitWhile must report done")
	}
}

type fakeRT struct {
	calls   []string
	removed []string
}

func (f *fakeRT) FreezeNode(node string, frozen bool) (int, error) {
	f.calls = append(f.calls, map[bool]string{true: "freeze ", false: "thaw "}[frozen]+node)
	return 2, nil
}
func (f *fakeRT) KillNode(node string) int { f.calls = append(f.calls, "kill "+node); return 3 }
func (f *fakeRT) KillRemoved(node string) []string {
	f.calls = append(f.calls, "killRemoved "+node)
	return f.removed
}
func (f *fakeRT) Resync(node string) { f.calls = append(f.calls, "resync "+node) }

func newCtl() (*Controller, *fakeRT, *[]string) {
	rt := &fakeRT{}
	var applied []string
	c := &Controller{State: NewState(), RT: rt, CIDR: cidr, KeepEvery: time.Hour,
		Apply: func(rs string) error { applied = append(applied, rs); return nil }}
	return c, rt, &applied
}

func TestControllerLoseRestore(t *testing.T) {
	c, rt, applied := newCtl()
	r, err := c.LoseNode("n1", false)
	if err != nil || r.Frozen != 2 || !r.Nodes["n1"].Lost {
		t.Fatalf("lose: %+v %v", r, err)
	}
	if last := (*applied)[len(*applied)-1]; !strings.Contains(last, "10.244.1.0/24") {
		t.Errorf("lost node not filtered:\n%s", last)
	}
	rt.removed = []string{"ns/gone"}
	r, err = c.RestoreNode("n1")
	if err != nil || r.Nodes["n1"].Lost || !reflect.DeepEqual(r.KilledPods, []string{"ns/gone"}) {
		t.Fatalf("restore: %+v %v", r, err)
	}
	// Deleted pods die before anything thaws; the runtime resyncs last.
	want := []string{"freeze n1", "killRemoved n1", "thaw n1", "resync n1"}
	if !reflect.DeepEqual(rt.calls, want) {
		t.Errorf("calls %v, want %v", rt.calls, want)
	}
	if last := (*applied)[len(*applied)-1]; strings.Contains(last, "chain") {
		t.Errorf("restored node still filtered:\n%s", last)
	}
	rt.calls = nil
	if r, _ := c.LoseNode("n2", true); r.KilledContainers != 3 || !r.Nodes["n2"].Killed {
		t.Errorf("lose with kill: %+v", r)
	}
	if !reflect.DeepEqual(rt.calls, []string{"thaw n2", "kill n2"}) {
		t.Errorf("kill calls %v", rt.calls)
	}
	if _, err := c.LoseNode("nope", false); err == nil {
		t.Error("unknown node accepted")
	}
}

func TestHandler(t *testing.T) {
	c, _, _ := newCtl()
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	post := func(path string) (int, map[string]any) {
		resp, err := http.Post(srv.URL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	if code, body := post("/nodes/n2/partition?kubelet=cut"); code != 200 || !c.State.KubeletDown("n2") {
		t.Errorf("partition: %d %v", code, body)
	}
	if code, _ := post("/nodes/n2/heal"); code != 200 || c.State.Silent("n2") {
		t.Errorf("heal: %d", code)
	}
	if code, _ := post("/apiserver/slow?latencyMs=250&timeout=true"); code != 200 || c.State.Snapshot().APIServer != (API{LatencyMs: 250, Timeout: true}) {
		t.Errorf("slow: %d %+v", code, c.State.Snapshot().APIServer)
	}
	if code, _ := post("/apiserver/restore"); code != 200 || c.State.Snapshot().APIServer != (API{}) {
		t.Errorf("restore api: %d", code)
	}
	if code, body := post("/nodes/zz/lose"); code != 404 || body["error"] == nil {
		t.Errorf("unknown node: %d %v", code, body)
	}
	if code, _ := post("/apiserver/slow?latencyMs=x"); code != 400 {
		t.Errorf("bad latency: %d", code)
	}
	resp, err := http.Get(srv.URL + "/faults")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("get: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestCutRelayHangsOnePod(t *testing.T) {
	s := NewState()
	ch := s.Changed()
	s.CutRelay("/run/netns/a", true)
	select {
	case <-ch:
	default:
		t.Fatal("cutting a relay did not signal a change")
	}
	if !s.RelayConditions("n1", "/run/netns/a").Hang {
		t.Fatal("the cut pod's relay does not hang")
	}
	if s.RelayConditions("n1", "/run/netns/b").Hang {
		t.Fatal("another pod's relay hangs")
	}
	if got := s.Snapshot().CutRelays; len(got) != 1 || got[0] != "/run/netns/a" {
		t.Fatalf("snapshot lists %v", got)
	}
	s.CutRelay("/run/netns/a", false)
	if s.RelayConditions("n1", "/run/netns/a").Hang || len(s.Snapshot().CutRelays) != 0 {
		t.Fatal("healing did not end the hang")
	}
}
