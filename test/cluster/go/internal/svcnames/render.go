package svcnames

import (
	"bytes"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// service is the part of a Service and its EndpointSlices that names depend
// on. A slice of these, sorted, is the whole state of the table.
type service struct {
	Namespace string
	Name      string
	Headless  bool
	Endpoints []endpoint // sorted by IP, then hostname
}

type endpoint struct {
	IP       string
	Hostname string
}

// buildModel joins Services with their EndpointSlices (by the
// kubernetes.io/service-name label). Services without usable endpoints are
// left out: with no kube-proxy, a name without a live backend should not
// resolve at all.
func buildModel(svcs []*corev1.Service, slices []*discoveryv1.EndpointSlice) []service {
	type key struct{ ns, name string }
	bySvc := map[key][]*discoveryv1.EndpointSlice{}
	for _, s := range slices {
		if n := s.Labels[discoveryv1.LabelServiceName]; n != "" {
			k := key{s.Namespace, n}
			bySvc[k] = append(bySvc[k], s)
		}
	}
	var out []service
	for _, svc := range svcs {
		if svc.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		m := service{Namespace: svc.Namespace, Name: svc.Name, Headless: svc.Spec.ClusterIP == corev1.ClusterIPNone}
		seen := map[endpoint]bool{}
		for _, sl := range bySvc[key{svc.Namespace, svc.Name}] {
			if sl.AddressType != discoveryv1.AddressTypeIPv4 && sl.AddressType != discoveryv1.AddressTypeIPv6 {
				continue
			}
			for _, ep := range sl.Endpoints {
				// A nil ready condition means ready (API contract).
				ready := ep.Conditions.Ready == nil || *ep.Conditions.Ready
				if !ready && !svc.Spec.PublishNotReadyAddresses {
					continue
				}
				host := ""
				if ep.Hostname != nil {
					host = *ep.Hostname
				}
				for _, a := range ep.Addresses {
					e := endpoint{IP: a, Hostname: host}
					if !seen[e] {
						seen[e] = true
						m.Endpoints = append(m.Endpoints, e)
					}
				}
			}
		}
		if len(m.Endpoints) == 0 {
			continue
		}
		sort.Slice(m.Endpoints, func(i, j int) bool { return lessEndpoint(m.Endpoints[i], m.Endpoints[j]) })
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func lessEndpoint(a, b endpoint) bool {
	if a.IP != b.IP {
		pa, ea := netip.ParseAddr(a.IP)
		pb, eb := netip.ParseAddr(b.IP)
		if ea == nil && eb == nil {
			return pa.Less(pb)
		}
		return a.IP < b.IP
	}
	return a.Hostname < b.Hostname
}

// render writes the hosts lines a pod in namespace ns sees. Per endpoint
// line the most specific name comes first, since the first name is the
// canonical one (reverse lookups, hostname -f).
func render(model []service, ns string) []byte {
	var b bytes.Buffer
	for _, s := range model {
		svcNames := []string{
			s.Name + "." + s.Namespace + ".svc.cluster.local",
			s.Name + "." + s.Namespace + ".svc",
			s.Name + "." + s.Namespace,
		}
		if s.Namespace == ns {
			svcNames = append(svcNames, s.Name)
		}
		for _, e := range s.Endpoints {
			var names []string
			if s.Headless && e.Hostname != "" {
				sub := e.Hostname + "." + s.Name
				names = append(names, sub+"."+s.Namespace+".svc.cluster.local", sub+"."+s.Namespace)
				if s.Namespace == ns {
					names = append(names, sub)
				}
			}
			names = append(names, svcNames...)
			b.WriteString(e.IP)
			b.WriteByte(' ')
			b.WriteString(strings.Join(names, " "))
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}
