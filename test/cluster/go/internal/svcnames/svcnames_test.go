package svcnames

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func svc(ns, name string, headless, publishNotReady bool) *corev1.Service {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10", PublishNotReadyAddresses: publishNotReady}}
	if headless {
		s.Spec.ClusterIP = corev1.ClusterIPNone
	}
	return s
}

type ep struct {
	ip, host string
	ready    *bool
}

func slice(ns, svcName, name string, eps ...ep) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svcName}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for _, e := range eps {
		x := discoveryv1.Endpoint{Addresses: []string{e.ip}, Conditions: discoveryv1.EndpointConditions{Ready: e.ready}}
		if e.host != "" {
			h := e.host
			x.Hostname = &h
		}
		s.Endpoints = append(s.Endpoints, x)
	}
	return s
}

var yes, no = func() *bool { b := true; return &b }(), func() *bool { b := false; return &b }()

func TestRender(t *testing.T) {
	tests := []struct {
		name   string
		svcs   []*corev1.Service
		slices []*discoveryv1.EndpointSlice
		ns     string
		want   string
	}{
		{
			name:   "ready endpoints, own namespace gets short name, IPs in numeric order",
			svcs:   []*corev1.Service{svc("db", "pg-rw", false, false)},
			slices: []*discoveryv1.EndpointSlice{slice("db", "pg-rw", "pg-rw-1", ep{"10.0.0.10", "", yes}, ep{"10.0.0.9", "", yes}, ep{"10.0.0.8", "", no})},
			ns:     "db",
			want: "10.0.0.9 pg-rw.db.svc.cluster.local pg-rw.db.svc pg-rw.db pg-rw\n" +
				"10.0.0.10 pg-rw.db.svc.cluster.local pg-rw.db.svc pg-rw.db pg-rw\n",
		},
		{
			name:   "other namespace: no short name",
			svcs:   []*corev1.Service{svc("db", "pg-rw", false, false)},
			slices: []*discoveryv1.EndpointSlice{slice("db", "pg-rw", "s", ep{"10.0.0.9", "", yes})},
			ns:     "app",
			want:   "10.0.0.9 pg-rw.db.svc.cluster.local pg-rw.db.svc pg-rw.db\n",
		},
		{
			name:   "nil ready counts as ready",
			svcs:   []*corev1.Service{svc("a", "s", false, false)},
			slices: []*discoveryv1.EndpointSlice{slice("a", "s", "x", ep{"10.0.0.1", "", nil})},
			ns:     "a",
			want:   "10.0.0.1 s.a.svc.cluster.local s.a.svc s.a s\n",
		},
		{
			name:   "no ready endpoints: no lines",
			svcs:   []*corev1.Service{svc("a", "s", false, false)},
			slices: []*discoveryv1.EndpointSlice{slice("a", "s", "x", ep{"10.0.0.1", "", no})},
			ns:     "a",
			want:   "",
		},
		{
			name:   "publishNotReadyAddresses keeps not-ready endpoints",
			svcs:   []*corev1.Service{svc("a", "s", true, true)},
			slices: []*discoveryv1.EndpointSlice{slice("a", "s", "x", ep{"10.0.0.1", "s-0", no})},
			ns:     "b",
			want:   "10.0.0.1 s-0.s.a.svc.cluster.local s-0.s.a s.a.svc.cluster.local s.a.svc s.a\n",
		},
		{
			name: "headless with hostnames, several slices merged and deduplicated",
			svcs: []*corev1.Service{svc("db", "pg", true, false)},
			slices: []*discoveryv1.EndpointSlice{
				slice("db", "pg", "pg-b", ep{"10.0.0.2", "pg-1", yes}),
				slice("db", "pg", "pg-a", ep{"10.0.0.1", "pg-0", yes}, ep{"10.0.0.2", "pg-1", yes}),
			},
			ns: "db",
			want: "10.0.0.1 pg-0.pg.db.svc.cluster.local pg-0.pg.db pg-0.pg pg.db.svc.cluster.local pg.db.svc pg.db pg\n" +
				"10.0.0.2 pg-1.pg.db.svc.cluster.local pg-1.pg.db pg-1.pg pg.db.svc.cluster.local pg.db.svc pg.db pg\n",
		},
		{
			name:   "hostname ignored for a ClusterIP service",
			svcs:   []*corev1.Service{svc("db", "pg", false, false)},
			slices: []*discoveryv1.EndpointSlice{slice("db", "pg", "x", ep{"10.0.0.1", "pg-0", yes})},
			ns:     "db",
			want:   "10.0.0.1 pg.db.svc.cluster.local pg.db.svc pg.db pg\n",
		},
		{
			name: "services sorted by namespace then name; unlabelled and FQDN slices ignored; ExternalName skipped",
			svcs: []*corev1.Service{svc("z", "a", false, false), svc("a", "z", false, false), svc("a", "b", false, false),
				{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "ext"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName}}},
			slices: []*discoveryv1.EndpointSlice{
				slice("z", "a", "1", ep{"10.0.0.3", "", yes}), slice("a", "z", "2", ep{"10.0.0.1", "", yes}),
				slice("a", "b", "3", ep{"10.0.0.2", "", yes}), slice("a", "ext", "4", ep{"10.0.0.4", "", yes}),
				func() *discoveryv1.EndpointSlice {
					s := slice("a", "b", "5", ep{"example.com", "", yes})
					s.AddressType = discoveryv1.AddressTypeFQDN
					return s
				}(),
				func() *discoveryv1.EndpointSlice {
					s := slice("a", "b", "6", ep{"10.0.0.5", "", yes})
					s.Labels = nil
					return s
				}(),
			},
			ns: "q",
			want: "10.0.0.2 b.a.svc.cluster.local b.a.svc b.a\n" +
				"10.0.0.1 z.a.svc.cluster.local z.a.svc z.a\n" +
				"10.0.0.3 a.z.svc.cluster.local a.z.svc a.z\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(render(buildModel(tt.svcs, tt.slices), tt.ns))
			if got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestChangedFiresOnSliceUpdate(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs := fake.NewClientset(svc("db", "pg-rw", false, false),
		slice("db", "pg-rw", "s1", ep{"10.0.0.1", "", yes}))
	tb := Start(ctx, cs)
	if got := string(tb.Hosts("db")); got != "10.0.0.1 pg-rw.db.svc.cluster.local pg-rw.db.svc pg-rw.db pg-rw\n" {
		t.Fatalf("initial: %q", got)
	}
	ch := tb.Changed()
	// The primary moves: the endpoint of pod 1 becomes not ready, pod 2 ready.
	start := time.Now()
	_, err := cs.DiscoveryV1().EndpointSlices("db").Update(ctx,
		slice("db", "pg-rw", "s1", ep{"10.0.0.1", "", no}, ep{"10.0.0.2", "", yes}), metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(time.Second):
		t.Fatal("Changed did not fire")
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Changed took %v", d)
	}
	if got := string(tb.Hosts("db")); got != "10.0.0.2 pg-rw.db.svc.cluster.local pg-rw.db.svc pg-rw.db pg-rw\n" {
		t.Fatalf("after update: %q", got)
	}
	if tb.Changed() == ch {
		t.Fatal("Changed channel not replaced")
	}
	// A no-op update does not fire.
	ch = tb.Changed()
	cs.DiscoveryV1().EndpointSlices("db").Update(ctx,
		slice("db", "pg-rw", "s1", ep{"10.0.0.1", "", no}, ep{"10.0.0.2", "", yes}), metav1.UpdateOptions{})
	select {
	case <-ch:
		t.Fatal("fired without a change")
	case <-time.After(200 * time.Millisecond):
	}
}
