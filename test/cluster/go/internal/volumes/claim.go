package volumes

import (
	"context"
	"fmt"
	"os"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// claimPath follows PVC → bound PV → its hostPath or local path.
func (s *Set) claimPath(ctx context.Context, pod *v1.Pod, claim string) (string, error) {
	pvc, err := s.src.CS.CoreV1().PersistentVolumeClaims(pod.Namespace).Get(ctx, claim, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", waitf("persistentvolumeclaim %q not found", claim)
	}
	if err != nil {
		return "", err
	}
	if pvc.Spec.VolumeName == "" || pvc.Status.Phase != v1.ClaimBound {
		return "", waitf("waiting for PersistentVolumeClaim %q to be bound (phase %s)", claim, pvc.Status.Phase)
	}
	pv, err := s.src.CS.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", waitf("persistentvolume %q of claim %q: %v", pvc.Spec.VolumeName, claim, err)
	}
	var p string
	switch {
	case pv.Spec.HostPath != nil:
		p = pv.Spec.HostPath.Path
		if err := os.MkdirAll(p, 0o755); err != nil {
			return "", err
		}
	case pv.Spec.Local != nil:
		p = pv.Spec.Local.Path
		if _, err := os.Stat(p); err != nil {
			return "", waitf("local volume path %s of persistentvolume %q does not exist", p, pv.Name)
		}
	default:
		return "", fmt.Errorf("persistentvolume %q has no hostPath or local source; this local node cannot mount it", pv.Name)
	}
	return p, nil
}
