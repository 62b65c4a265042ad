package provisioner

import (
	"fmt"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// Name is the provisioner name StorageClasses refer to.
	Name = "kpg.local/hostpath"

	annStorageProvisioner     = "volume.kubernetes.io/storage-provisioner"
	annBetaStorageProvisioner = "volume.beta.kubernetes.io/storage-provisioner"
	annSelectedNode           = "volume.kubernetes.io/selected-node"
	annProvisionedBy          = "pv.kubernetes.io/provisioned-by"
)

// pvName is deterministic so that a restart (or a lost create response)
// never provisions a second volume for the same claim.
func pvName(pvc *corev1.PersistentVolumeClaim) string { return "pvc-" + string(pvc.UID) }

func volumeDir(pvDir string, pvc *corev1.PersistentVolumeClaim) string {
	return filepath.Join(pvDir, fmt.Sprintf("%s_%s_%s", pvc.Namespace, pvc.Name, pvName(pvc)))
}

// wantsProvisioning tells whether we should create a PV for pvc now; the
// reason is for logs when we should not.
func wantsProvisioning(pvc *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) (bool, string) {
	if pvc.DeletionTimestamp != nil {
		return false, "claim is being deleted"
	}
	if pvc.Spec.VolumeName != "" || pvc.Status.Phase != corev1.ClaimPending {
		return false, "claim is bound or not pending"
	}
	p := pvc.Annotations[annStorageProvisioner]
	if p == "" {
		p = pvc.Annotations[annBetaStorageProvisioner]
	}
	if p != Name {
		return false, "claim is for provisioner " + p
	}
	if class == nil || class.Provisioner != Name {
		return false, "storage class is not ours"
	}
	if class.VolumeBindingMode != nil && *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer &&
		pvc.Annotations[annSelectedNode] == "" {
		return false, "waiting for first consumer"
	}
	if pvc.Spec.VolumeMode != nil && *pvc.Spec.VolumeMode == corev1.PersistentVolumeBlock {
		return false, "block volumes are not supported"
	}
	return true, ""
}

// buildPV is the PV for pvc, pre-bound to it through claimRef (with UID, so
// it can never bind a re-created claim of the same name).
func buildPV(pvc *corev1.PersistentVolumeClaim, class *storagev1.StorageClass, dir string) (*corev1.PersistentVolume, error) {
	size, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		return nil, fmt.Errorf("claim %s/%s has no storage request", pvc.Namespace, pvc.Name)
	}
	reclaim := corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	modes := pvc.Spec.AccessModes
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	fs := corev1.PersistentVolumeFilesystem
	hpType := corev1.HostPathDirectoryOrCreate
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        pvName(pvc),
			Annotations: map[string]string{annProvisionedBy: Name},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   modes,
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              class.Name,
			MountOptions:                  class.MountOptions,
			VolumeMode:                    &fs,
			ClaimRef: &corev1.ObjectReference{
				Kind:            "PersistentVolumeClaim",
				APIVersion:      "v1",
				Namespace:       pvc.Namespace,
				Name:            pvc.Name,
				UID:             pvc.UID,
				ResourceVersion: pvc.ResourceVersion,
			},
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &hpType},
			},
		},
	}, nil
}

// deletableDir returns the directory to remove for a released PV of ours, or
// "" when the PV must be left alone. The path must be a direct child of
// pvDir: never remove anything else, whatever the PV object says.
func deletableDir(pv *corev1.PersistentVolume, pvDir string) string {
	if pv.Annotations[annProvisionedBy] != Name ||
		pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
		pv.Status.Phase != corev1.VolumeReleased || pv.Spec.HostPath == nil {
		return ""
	}
	p := filepath.Clean(pv.Spec.HostPath.Path)
	if filepath.Dir(p) != filepath.Clean(pvDir) || strings.HasPrefix(filepath.Base(p), ".") {
		return ""
	}
	return p
}
