package provisioner

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

func class(name string, mode storagev1.VolumeBindingMode) *storagev1.StorageClass {
	del := corev1.PersistentVolumeReclaimDelete
	return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: Name,
		ReclaimPolicy: &del, VolumeBindingMode: &mode}
}

func claim(className string, ann map[string]string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "data-pg-0", UID: types.UID("1111-2222"), Annotations: ann},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &className,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
}

var ours = map[string]string{annStorageProvisioner: Name}

func TestWantsProvisioning(t *testing.T) {
	imm := class("standard", storagev1.VolumeBindingImmediate)
	wffc := class("local-path", storagev1.VolumeBindingWaitForFirstConsumer)
	other := class("other", storagev1.VolumeBindingImmediate)
	other.Provisioner = "example.com/x"
	bound := claim("standard", ours)
	bound.Spec.VolumeName = "pv-x"
	block := claim("standard", ours)
	bm := corev1.PersistentVolumeBlock
	block.Spec.VolumeMode = &bm
	tests := []struct {
		name  string
		pvc   *corev1.PersistentVolumeClaim
		class *storagev1.StorageClass
		want  bool
	}{
		{"immediate", claim("standard", ours), imm, true},
		{"beta annotation", claim("standard", map[string]string{annBetaStorageProvisioner: Name}), imm, true},
		{"no annotation yet", claim("standard", nil), imm, false},
		{"other provisioner", claim("other", map[string]string{annStorageProvisioner: "example.com/x"}), other, false},
		{"class missing", claim("gone", ours), nil, false},
		{"already bound", bound, imm, false},
		{"wffc without node", claim("local-path", ours), wffc, false},
		{"wffc with node", claim("local-path", map[string]string{annStorageProvisioner: Name, annSelectedNode: "kpg-node"}), wffc, true},
		{"block", block, imm, false},
	}
	for _, tt := range tests {
		if got, why := wantsProvisioning(tt.pvc, tt.class); got != tt.want {
			t.Errorf("%s: got %v (%s), want %v", tt.name, got, why, tt.want)
		}
	}
}

func TestBuildPV(t *testing.T) {
	pvc := claim("standard", ours)
	pvc.ResourceVersion = "42"
	pvc.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadWriteOncePod}
	dir := volumeDir("/var/lib/kpg/pv", pvc)
	if dir != "/var/lib/kpg/pv/db_data-pg-0_pvc-1111-2222" {
		t.Fatalf("dir %s", dir)
	}
	pv, err := buildPV(pvc, class("standard", storagev1.VolumeBindingImmediate), dir)
	if err != nil {
		t.Fatal(err)
	}
	if pv.Name != "pvc-1111-2222" || pv.Annotations[annProvisionedBy] != Name {
		t.Errorf("meta %+v", pv.ObjectMeta)
	}
	s := pv.Spec
	if q := s.Capacity[corev1.ResourceStorage]; q.String() != "1Gi" {
		t.Errorf("capacity %s", q.String())
	}
	if !reflect.DeepEqual(s.AccessModes, pvc.Spec.AccessModes) || s.StorageClassName != "standard" ||
		s.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
		t.Errorf("spec %+v", s)
	}
	if s.HostPath == nil || s.HostPath.Path != dir || *s.HostPath.Type != corev1.HostPathDirectoryOrCreate {
		t.Errorf("hostPath %+v", s.HostPath)
	}
	if r := s.ClaimRef; r == nil || r.Namespace != "db" || r.Name != "data-pg-0" || r.UID != pvc.UID || r.Kind != "PersistentVolumeClaim" {
		t.Errorf("claimRef %+v", r)
	}
	retain := corev1.PersistentVolumeReclaimRetain
	c := class("standard", storagev1.VolumeBindingImmediate)
	c.ReclaimPolicy = &retain
	if pv, _ := buildPV(pvc, c, dir); pv.Spec.PersistentVolumeReclaimPolicy != retain {
		t.Errorf("reclaim policy not from class")
	}
	noSize := claim("standard", ours)
	noSize.Spec.Resources.Requests = nil
	if _, err := buildPV(noSize, c, dir); err == nil {
		t.Errorf("want error without size")
	}
}

func TestDeletableDir(t *testing.T) {
	pv := func(path string, phase corev1.PersistentVolumePhase, policy corev1.PersistentVolumeReclaimPolicy, ann string) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: "pvc-1", Annotations: map[string]string{annProvisionedBy: ann}},
			Spec: corev1.PersistentVolumeSpec{PersistentVolumeReclaimPolicy: policy,
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}}},
			Status: corev1.PersistentVolumeStatus{Phase: phase},
		}
	}
	const d = corev1.PersistentVolumeReclaimDelete
	tests := []struct {
		pv   *corev1.PersistentVolume
		want string
	}{
		{pv("/pv/ns_c_pvc-1", corev1.VolumeReleased, d, Name), "/pv/ns_c_pvc-1"},
		{pv("/pv/ns_c_pvc-1", corev1.VolumeBound, d, Name), ""},
		{pv("/pv/ns_c_pvc-1", corev1.VolumeReleased, corev1.PersistentVolumeReclaimRetain, Name), ""},
		{pv("/pv/ns_c_pvc-1", corev1.VolumeReleased, d, "someone-else"), ""},
		{pv("/pv", corev1.VolumeReleased, d, Name), ""},
		{pv("/pv/../etc", corev1.VolumeReleased, d, Name), ""},
		{pv("/pv/a/b", corev1.VolumeReleased, d, Name), ""},
		{pv("/elsewhere/x", corev1.VolumeReleased, d, Name), ""},
	}
	for _, tt := range tests {
		if got := deletableDir(tt.pv, "/pv/"); got != tt.want {
			t.Errorf("%s %s: got %q want %q", tt.pv.Spec.HostPath.Path, tt.pv.Status.Phase, got, tt.want)
		}
	}
}

func TestRunProvisionsAndDeletes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pvDir := t.TempDir()
	pvc := claim("standard", ours)
	cs := fake.NewClientset(class("standard", storagev1.VolumeBindingImmediate), pvc)
	go func() {
		if err := Run(ctx, cs, pvDir); err != nil {
			t.Error(err)
		}
	}()
	var pv *corev1.PersistentVolume
	eventually(t, func() bool {
		var err error
		pv, err = cs.CoreV1().PersistentVolumes().Get(ctx, "pvc-1111-2222", metav1.GetOptions{})
		return err == nil
	})
	dir := filepath.Join(pvDir, "db_data-pg-0_pvc-1111-2222")
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o777 {
		t.Fatalf("dir: %v %v", st, err)
	}
	// The claim is deleted; the PV controller marks the volume Released.
	pv.Status.Phase = corev1.VolumeReleased
	if _, err := cs.CoreV1().PersistentVolumes().UpdateStatus(ctx, pv, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool {
		_, err := cs.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
		_, serr := os.Stat(dir)
		return err != nil && os.IsNotExist(serr)
	})
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met in time")
}
