package probes

import (
	"context"
	"net"
	"net/http"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestThresholds(t *testing.T) {
	th := NewThresholds(&v1.Probe{SuccessThreshold: 2, FailureThreshold: 3})
	seq := []bool{true, true, false, false, true, false, false, false}
	var got []string
	for _, ok := range seq {
		st, ch := th.Observe(ok)
		if ch {
			if st {
				got = append(got, "up")
			} else {
				got = append(got, "down")
			}
		}
	}
	if len(got) != 2 || got[0] != "up" || got[1] != "down" {
		t.Fatalf("transitions %v", got)
	}
}

func TestTCPAndHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.WriteHeader(500)
		}
	}))
	port := ln.Addr().(*net.TCPAddr).Port
	c := &v1.Container{Ports: []v1.ContainerPort{{Name: "web", ContainerPort: int32(port)}}}
	var d net.Dialer
	tg := Target{PodIP: "127.0.0.1", Container: c, Dial: d.DialContext}
	ctx := context.Background()
	if ok, msg := Do(ctx, &v1.Probe{ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromString("web")}}}, tg); !ok {
		t.Errorf("tcp: %s", msg)
	}
	if ok, msg := Do(ctx, &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/ok", Port: intstr.FromInt32(int32(port))}}}, tg); !ok {
		t.Errorf("http: %s", msg)
	}
	if ok, _ := Do(ctx, &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/bad", Port: intstr.FromInt32(int32(port))}}}, tg); ok {
		t.Errorf("http 500 must fail")
	}
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln2.Addr().(*net.TCPAddr).Port
	ln2.Close()
	if ok, _ := Do(ctx, &v1.Probe{ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(int32(closed))}}}, tg); ok {
		t.Errorf("closed port must fail")
	}
}
