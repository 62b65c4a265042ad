// Package envvars builds a container's environment the way the kubelet does:
// envFrom first, then env in order with $(VAR) expansion against what is
// already defined, then service variables that were not overridden, all laid
// over the image's own environment.
package envvars

import (
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/kubernetes/pkg/api/v1/resource"
	"k8s.io/kubernetes/pkg/fieldpath"
	"k8s.io/kubernetes/third_party/forked/golang/expansion"
)

// Objects gives read access to ConfigMaps and Secrets; a missing object is
// reported with a NotFound API error.
type Objects interface {
	ConfigMap(namespace, name string) (*v1.ConfigMap, error)
	Secret(namespace, name string) (*v1.Secret, error)
}

// Input is everything the environment depends on.
type Input struct {
	Pod       *v1.Pod
	Container *v1.Container
	PodIPs    []string
	HostIPs   []string
	Hostname  string
	// ImageEnv is the image's KEY=VALUE list; container values override it.
	ImageEnv []string
	// ServiceEnv holds service variables such as KUBERNETES_SERVICE_HOST.
	ServiceEnv map[string]string
	// NodeAllocatable fills resourceFieldRef limits that are not set.
	NodeAllocatable v1.ResourceList
}

// Expand performs kubelet's $(VAR) expansion ($$ escapes, unknown refs stay).
func Expand(s string, vars ...map[string]string) string {
	return expansion.Expand(s, expansion.MappingFuncFor(vars...))
}

// Resolve returns the final KEY=VALUE list, image variables first.
func Resolve(in Input, objs Objects) ([]string, error) {
	env, err := containerEnv(in, objs)
	if err != nil {
		return nil, err
	}
	if _, ok := env["HOSTNAME"]; !ok {
		env["HOSTNAME"] = in.Hostname
	}
	var out []string
	seen := map[string]bool{}
	for _, kv := range in.ImageEnv {
		k, _, _ := strings.Cut(kv, "=")
		if v, ok := env[k]; ok {
			kv = k + "=" + v
		}
		seen[k] = true
		out = append(out, kv)
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out, nil
}

func containerEnv(in Input, objs Objects) (map[string]string, error) {
	pod, c := in.Pod, in.Container
	tmp := map[string]string{}
	for _, from := range c.EnvFrom {
		data, err := envFromData(pod.Namespace, from, objs)
		if err != nil {
			return nil, err
		}
		for k, v := range data {
			tmp[from.Prefix+k] = v
		}
	}
	for _, ev := range c.Env {
		if ev.ValueFrom == nil {
			tmp[ev.Name] = Expand(ev.Value, tmp, in.ServiceEnv)
			continue
		}
		v, skip, err := valueFrom(in, ev, objs)
		if err != nil {
			return nil, err
		}
		if !skip {
			tmp[ev.Name] = v
		}
	}
	for k, v := range in.ServiceEnv {
		if _, ok := tmp[k]; !ok {
			tmp[k] = v
		}
	}
	return tmp, nil
}

func envFromData(ns string, from v1.EnvFromSource, objs Objects) (map[string]string, error) {
	switch {
	case from.ConfigMapRef != nil:
		ref := from.ConfigMapRef
		cm, err := objs.ConfigMap(ns, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && ref.Optional != nil && *ref.Optional {
				return nil, nil
			}
			return nil, fmt.Errorf("configmap %q not found", ref.Name)
		}
		return cm.Data, nil
	case from.SecretRef != nil:
		ref := from.SecretRef
		s, err := objs.Secret(ns, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && ref.Optional != nil && *ref.Optional {
				return nil, nil
			}
			return nil, fmt.Errorf("secret %q not found", ref.Name)
		}
		out := map[string]string{}
		for k, v := range s.Data {
			out[k] = string(v)
		}
		return out, nil
	}
	return nil, nil
}

// valueFrom resolves one env var source; skip is true when an optional
// reference is missing and the variable must not be set at all.
func valueFrom(in Input, ev v1.EnvVar, objs Objects) (val string, skip bool, err error) {
	pod, src := in.Pod, ev.ValueFrom
	switch {
	case src.FieldRef != nil:
		v, err := PodField(pod, src.FieldRef.FieldPath, in.PodIPs, in.HostIPs)
		return v, false, err
	case src.ResourceFieldRef != nil:
		v, err := resource.ExtractResourceValueByContainerNameAndNodeAllocatable(src.ResourceFieldRef, pod, in.Container.Name, in.NodeAllocatable)
		return v, false, err
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		optional := ref.Optional != nil && *ref.Optional
		cm, err := objs.ConfigMap(pod.Namespace, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional {
				return "", true, nil
			}
			return "", false, fmt.Errorf("configmap %q not found", ref.Name)
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			if b, ok2 := cm.BinaryData[ref.Key]; ok2 {
				return string(b), false, nil
			}
			if optional {
				return "", true, nil
			}
			return "", false, fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", ref.Key, pod.Namespace, ref.Name)
		}
		return v, false, nil
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		optional := ref.Optional != nil && *ref.Optional
		s, err := objs.Secret(pod.Namespace, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional {
				return "", true, nil
			}
			return "", false, fmt.Errorf("secret %q not found", ref.Name)
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			if optional {
				return "", true, nil
			}
			return "", false, fmt.Errorf("couldn't find key %s in Secret %s/%s", ref.Key, pod.Namespace, ref.Name)
		}
		return string(v), false, nil
	}
	return "", false, fmt.Errorf("env %s: unsupported valueFrom", ev.Name)
}

// PodField resolves a downward API field path (env fieldRef or volume item).
func PodField(pod *v1.Pod, path string, podIPs, hostIPs []string) (string, error) {
	first := func(s []string) string {
		if len(s) > 0 {
			return s[0]
		}
		return ""
	}
	switch path {
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP":
		return first(hostIPs), nil
	case "status.hostIPs":
		return strings.Join(hostIPs, ","), nil
	case "status.podIP":
		return first(podIPs), nil
	case "status.podIPs":
		return strings.Join(podIPs, ","), nil
	}
	return fieldpath.ExtractFieldPathAsString(pod, path)
}
