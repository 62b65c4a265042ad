package pods

import "testing"

func TestIPAM(t *testing.T) {
	a := newIPAM()
	ip1, _ := a.alloc(2, "a")
	ip2, _ := a.alloc(2, "b")
	if ip1 != "10.244.2.2" || ip2 != "10.244.2.3" {
		t.Fatalf("%s %s", ip1, ip2)
	}
	a.release(ip1)
	if ip3, _ := a.alloc(2, "c"); ip3 != ip1 {
		t.Fatalf("released address not reused: %s", ip3)
	}
	for i := 0; i < 253; i++ {
		a.alloc(3, "x")
	}
	if _, err := a.alloc(3, "y"); err == nil {
		t.Fatal("pool must run out")
	}
}
