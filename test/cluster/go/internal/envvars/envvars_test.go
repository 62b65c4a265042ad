package envvars

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

type objs struct {
	cms     map[string]*v1.ConfigMap
	secrets map[string]*v1.Secret
}

func (o objs) ConfigMap(ns, name string) (*v1.ConfigMap, error) {
	if cm, ok := o.cms[name]; ok {
		return cm, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
}

func (o objs) Secret(ns, name string) (*v1.Secret, error) {
	if s, ok := o.secrets[name]; ok {
		return s, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "x", "B": "y"}
	cases := map[string]string{
		"$(A)-$(B)":   "x-y",
		"$$(A)":       "$(A)",
		"$(MISSING)":  "$(MISSING)",
		"plain $A":    "plain $A",
		"$(A":         "$(A",
		"a$$b":        "a$b",
		"--x=$(A)/$$": "--x=x/$",
	}
	for in, want := range cases {
		if got := Expand(in, vars); got != want {
			t.Errorf("Expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func envMap(list []string) map[string]string {
	m := map[string]string{}
	for _, kv := range list {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func TestResolve(t *testing.T) {
	yes := true
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "db-0", Namespace: "ns1", UID: "u1", Labels: map[string]string{"role": "primary"}, Annotations: map[string]string{"a": "b"}},
		Spec:       v1.PodSpec{NodeName: "kpg-worker-1", ServiceAccountName: "sa"},
	}
	c := &v1.Container{
		Name: "pg",
		EnvFrom: []v1.EnvFromSource{
			{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "cm"}}, Prefix: "CM_"},
			{SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "nope"}, Optional: &yes}},
		},
		Env: []v1.EnvVar{
			{Name: "NAME", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "ROLE", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels['role']"}}},
			{Name: "IP", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "NODE", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
			{Name: "PW", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "s"}, Key: "pw"}}},
			{Name: "OPT", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "cm"}, Key: "missing", Optional: &yes}}},
			{Name: "URL", Value: "postgres://$(NAME):$(PW)@$(IP)/$(CM_db) $(KUBERNETES_SERVICE_PORT)"},
			{Name: "PGDATA", Value: "/data/pg"},
			{Name: "MEM", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
		},
	}
	pod.Spec.Containers = []v1.Container{*c}
	o := objs{
		cms:     map[string]*v1.ConfigMap{"cm": {Data: map[string]string{"db": "app"}}},
		secrets: map[string]*v1.Secret{"s": {Data: map[string][]byte{"pw": []byte("sekret")}}},
	}
	in := Input{
		Pod: pod, Container: c, PodIPs: []string{"10.244.1.2"}, HostIPs: []string{"127.0.0.1"}, Hostname: "db-0",
		ImageEnv:        []string{"PATH=/usr/bin", "PGDATA=/var/lib/postgresql/data"},
		ServiceEnv:      map[string]string{"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "6443"},
		NodeAllocatable: v1.ResourceList{v1.ResourceMemory: resource.MustParse("8Gi")},
	}
	list, err := Resolve(in, o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(list[0], "PATH=") || list[1] != "PGDATA=/data/pg" {
		t.Errorf("image env order/override wrong: %v", list[:2])
	}
	m := envMap(list)
	want := map[string]string{
		"NAME": "db-0", "ROLE": "primary", "IP": "10.244.1.2", "NODE": "kpg-worker-1", "PW": "sekret",
		"CM_db": "app", "URL": "postgres://db-0:sekret@10.244.1.2/app 6443", "HOSTNAME": "db-0",
		"KUBERNETES_SERVICE_HOST": "127.0.0.1", "MEM": "8192",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
	if _, ok := m["OPT"]; ok {
		t.Errorf("optional missing key must not be set")
	}
}

func TestResolveMissingRequired(t *testing.T) {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns"}}
	c := &v1.Container{Env: []v1.EnvVar{{Name: "X", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "gone"}, Key: "k"}}}}}
	if _, err := Resolve(Input{Pod: pod, Container: c}, objs{}); err == nil || !strings.Contains(err.Error(), `secret "gone" not found`) {
		t.Fatalf("err = %v", err)
	}
}
