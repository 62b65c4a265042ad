package node

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestStatus(t *testing.T) {
	now := metav1.Now()
	st := status(Spec{Name: "kpg-worker-2", KubeletPort: 10251}, now, nil)
	if st.DaemonEndpoints.KubeletEndpoint.Port != 10251 || st.NodeInfo.KubeletVersion != "v1.36.3" || st.NodeInfo.ContainerRuntimeVersion != "kpg://0.1" {
		t.Errorf("status: %+v", st)
	}
	want := map[v1.NodeConditionType]v1.ConditionStatus{v1.NodeReady: v1.ConditionTrue, v1.NodeMemoryPressure: v1.ConditionFalse, v1.NodeDiskPressure: v1.ConditionFalse, v1.NodePIDPressure: v1.ConditionFalse}
	for _, c := range st.Conditions {
		if want[c.Type] != c.Status {
			t.Errorf("%s = %s", c.Type, c.Status)
		}
	}
	if q := st.Allocatable[v1.ResourceMemory]; q.String() != "8Gi" {
		t.Errorf("memory %s", q.String())
	}
	earlier := metav1.NewTime(now.Add(-3600e9))
	prev := []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue, LastTransitionTime: earlier}}
	for _, c := range conditions(now, prev) {
		if c.Type == v1.NodeReady && (!c.LastTransitionTime.Equal(&earlier) || !c.LastHeartbeatTime.Equal(&now)) {
			t.Errorf("transition time must stay, heartbeat move: %+v", c)
		}
	}
	if l := labels("n1"); l["kubernetes.io/hostname"] != "n1" || l["node.kubernetes.io/instance-type"] != "kpg-local" {
		t.Errorf("labels %v", l)
	}
}
