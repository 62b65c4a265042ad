package volumes

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubernetes/pkg/api/v1/resource"
	"k8s.io/kubernetes/pkg/volume/configmap"
	"k8s.io/kubernetes/pkg/volume/secret"
	volumeutil "k8s.io/kubernetes/pkg/volume/util"

	"kpg.local/cluster/internal/envvars"
)

type token struct {
	data    []byte
	refresh time.Time
}

// Refresh rewrites the content-backed volumes (configMap, secret, downward
// API, projected) whose source changed; unchanged payloads are not written.
// Errors keep the previous content, as the kubelet does.
func (s *Set) Refresh(ctx context.Context) {
	s.mu.Lock()
	pod := s.pod
	s.mu.Unlock()
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		if vol.ConfigMap == nil && vol.Secret == nil && vol.DownwardAPI == nil && vol.Projected == nil {
			continue
		}
		p, _, ok := s.Path(vol.Name)
		if !ok {
			continue
		}
		s.writeAtomic(ctx, pod, vol, p)
	}
}

func (s *Set) writeAtomic(ctx context.Context, pod *v1.Pod, vol *v1.Volume, dir string) error {
	payload, err := s.payload(ctx, pod, vol)
	if err != nil {
		return err
	}
	w, err := volumeutil.NewAtomicWriter(dir, "volume "+vol.Name)
	if err != nil {
		return err
	}
	var setPerms func(string) error
	if g := fsGroupOf(pod); g != nil {
		setPerms = func(sub string) error { return groupReadable(filepath.Join(dir, sub), int(*g)) }
	}
	return w.Write(payload, setPerms)
}

// groupReadable mirrors the kubelet's fsGroup handling of read-only volumes.
func groupReadable(root string, gid int) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		if err := os.Lchown(p, -1, gid); err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		add := os.FileMode(0o440)
		if d.IsDir() {
			add = 0o550 | os.ModeSetgid
		}
		return os.Chmod(p, fi.Mode()&(os.ModePerm|os.ModeSetgid)|add)
	})
}

type payload = map[string]volumeutil.FileProjection

func (s *Set) payload(ctx context.Context, pod *v1.Pod, vol *v1.Volume) (payload, error) {
	switch {
	case vol.ConfigMap != nil:
		return s.configMapPayload(pod.Namespace, vol.ConfigMap.Name, vol.ConfigMap.Items, vol.ConfigMap.DefaultMode, vol.ConfigMap.Optional)
	case vol.Secret != nil:
		return s.secretPayload(pod.Namespace, vol.Secret.SecretName, vol.Secret.Items, vol.Secret.DefaultMode, vol.Secret.Optional)
	case vol.DownwardAPI != nil:
		return s.downwardPayload(pod, vol.DownwardAPI.Items, vol.DownwardAPI.DefaultMode)
	case vol.Projected != nil:
		return s.projectedPayload(ctx, pod, vol)
	}
	return nil, fmt.Errorf("volume %s is not content-backed", vol.Name)
}

func mode(m *int32) *int32 {
	if m == nil {
		d := int32(0o644)
		return &d
	}
	return m
}

func (s *Set) configMapPayload(ns, name string, items []v1.KeyToPath, defMode *int32, optional *bool) (payload, error) {
	opt := optional != nil && *optional
	cm, err := s.src.ConfigMap(ns, name)
	if err != nil {
		if !apierrors.IsNotFound(err) || !opt {
			return nil, waitf("configmap %q not found", name)
		}
		cm = &v1.ConfigMap{}
	}
	return configmap.MakePayload(items, cm, mode(defMode), opt)
}

func (s *Set) secretPayload(ns, name string, items []v1.KeyToPath, defMode *int32, optional *bool) (payload, error) {
	opt := optional != nil && *optional
	sec, err := s.src.Secret(ns, name)
	if err != nil {
		if !apierrors.IsNotFound(err) || !opt {
			return nil, waitf("secret %q not found", name)
		}
		sec = &v1.Secret{}
	}
	return secret.MakePayload(items, sec, mode(defMode), opt)
}

func (s *Set) downwardPayload(pod *v1.Pod, items []v1.DownwardAPIVolumeFile, defMode *int32) (payload, error) {
	out := payload{}
	s.mu.Lock()
	podIPs := s.podIPs
	s.mu.Unlock()
	for _, it := range items {
		fp := volumeutil.FileProjection{Mode: *mode(defMode)}
		if it.Mode != nil {
			fp.Mode = *it.Mode
		}
		switch {
		case it.FieldRef != nil:
			v, err := envvars.PodField(pod, it.FieldRef.FieldPath, podIPs, []string{"127.0.0.1"})
			if err != nil {
				return nil, err
			}
			fp.Data = []byte(v)
		case it.ResourceFieldRef != nil:
			v, err := resource.ExtractResourceValueByContainerNameAndNodeAllocatable(it.ResourceFieldRef, pod, it.ResourceFieldRef.ContainerName, s.src.NodeAllocatable)
			if err != nil {
				return nil, err
			}
			fp.Data = []byte(v)
		}
		out[filepath.Clean(it.Path)] = fp
	}
	return out, nil
}

func (s *Set) projectedPayload(ctx context.Context, pod *v1.Pod, vol *v1.Volume) (payload, error) {
	pr := vol.Projected
	out := payload{}
	add := func(p payload, err error) error {
		if err != nil {
			return err
		}
		for k, v := range p {
			out[k] = v
		}
		return nil
	}
	for i, src := range pr.Sources {
		var err error
		switch {
		case src.ConfigMap != nil:
			err = add(s.configMapPayload(pod.Namespace, src.ConfigMap.Name, src.ConfigMap.Items, pr.DefaultMode, src.ConfigMap.Optional))
		case src.Secret != nil:
			err = add(s.secretPayload(pod.Namespace, src.Secret.Name, src.Secret.Items, pr.DefaultMode, src.Secret.Optional))
		case src.DownwardAPI != nil:
			err = add(s.downwardPayload(pod, src.DownwardAPI.Items, pr.DefaultMode))
		case src.ServiceAccountToken != nil:
			var data []byte
			data, err = s.token(ctx, pod, vol.Name, i, src.ServiceAccountToken)
			if err == nil {
				out[src.ServiceAccountToken.Path] = volumeutil.FileProjection{Data: data, Mode: *mode(pr.DefaultMode)}
			}
		default:
			err = fmt.Errorf("projected volume %s: unsupported source on this local node", vol.Name)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// token returns a pod-bound ServiceAccount token from the TokenRequest API,
// renewed once 80% of its lifetime has passed, like the kubelet's token
// manager.
func (s *Set) token(ctx context.Context, pod *v1.Pod, vol string, idx int, src *v1.ServiceAccountTokenProjection) ([]byte, error) {
	key := fmt.Sprintf("%s/%d", vol, idx)
	s.mu.Lock()
	t, ok := s.tokens[key]
	s.mu.Unlock()
	now := time.Now()
	if ok && now.Before(t.refresh) {
		return t.data, nil
	}
	exp := int64(3600)
	if src.ExpirationSeconds != nil {
		exp = *src.ExpirationSeconds
	}
	var aud []string
	if src.Audience != "" {
		aud = []string{src.Audience}
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	tr, err := s.src.CS.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			Audiences:         aud,
			ExpirationSeconds: &exp,
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		if ok {
			return t.data, nil
		}
		return nil, waitf("token for service account %q: %v", sa, err)
	}
	life := tr.Status.ExpirationTimestamp.Sub(now)
	if life > 24*time.Hour {
		life = 24 * time.Hour
	}
	t = token{data: []byte(tr.Status.Token), refresh: now.Add(life * 8 / 10)}
	s.mu.Lock()
	s.tokens[key] = t
	s.mu.Unlock()
	return t.data, nil
}
