package volumes

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestSetupAndRefresh(t *testing.T) {
	cm := &v1.ConfigMap{Data: map[string]string{"a": "1", "b": "2"}}
	src := &Sources{
		ConfigMap: func(ns, name string) (*v1.ConfigMap, error) {
			if name == "cm" {
				return cm, nil
			}
			return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
		},
		Secret: func(ns, name string) (*v1.Secret, error) {
			return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
		},
	}
	yes := true
	mode := int32(0o600)
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{"app": "x"}},
		Spec: v1.PodSpec{Volumes: []v1.Volume{
			{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "cm"}, Items: []v1.KeyToPath{{Key: "a", Path: "dir/a", Mode: &mode}}}}},
			{Name: "opt", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "missing", Optional: &yes}}},
			{Name: "info", VolumeSource: v1.VolumeSource{DownwardAPI: &v1.DownwardAPIVolumeSource{Items: []v1.DownwardAPIVolumeFile{
				{Path: "labels", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
				{Path: "ip", FieldRef: &v1.ObjectFieldSelector{FieldPath: "status.podIP"}},
			}}}},
			{Name: "scratch", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
		}},
	}
	dir := t.TempDir()
	s := New(src, pod, dir, []string{"10.244.1.9"})
	if err := s.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	read := func(vol, p string) string {
		root, _, ok := s.Path(vol)
		if !ok {
			t.Fatalf("volume %s not set up", vol)
		}
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read("cfg", "dir/a"); got != "1" {
		t.Errorf("cfg/dir/a = %q", got)
	}
	root, ro, _ := s.Path("cfg")
	if fi, _ := os.Stat(filepath.Join(root, "dir/a")); fi.Mode().Perm() != 0o600 || !ro {
		t.Errorf("mode %v, readOnly %v", fi.Mode().Perm(), ro)
	}
	if l, err := os.Readlink(filepath.Join(root, "..data")); err != nil || l == "" {
		t.Errorf("no ..data symlink: %v", err)
	}
	if got := read("info", "labels"); got != `app="x"` {
		t.Errorf("labels = %q", got)
	}
	if got := read("info", "ip"); got != "10.244.1.9" {
		t.Errorf("ip = %q", got)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "empty-dir", "scratch")); fi.Mode().Perm() != 0o777 {
		t.Errorf("emptyDir mode %v", fi.Mode().Perm())
	}
	cm.Data["a"] = "changed"
	s.Refresh(context.Background())
	if got := read("cfg", "dir/a"); got != "changed" {
		t.Errorf("after refresh cfg/dir/a = %q", got)
	}
	if err := s.Teardown(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("teardown left %s", dir)
	}
}

func TestMissingConfigMapWaits(t *testing.T) {
	src := &Sources{ConfigMap: func(ns, name string) (*v1.ConfigMap, error) {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
	}}
	pod := &v1.Pod{Spec: v1.PodSpec{Volumes: []v1.Volume{{Name: "c", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "nope"}}}}}}}
	err := New(src, pod, t.TempDir(), nil).Setup(context.Background())
	if _, ok := err.(*WaitError); !ok {
		t.Fatalf("want WaitError, got %v", err)
	}
}
