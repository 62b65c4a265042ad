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
	// A released address is not handed out again while others are free:
	// a recreated pod must not inherit its predecessor's address.
	if ip3, _ := a.alloc(2, "c"); ip3 != "10.244.2.4" {
		t.Fatalf("want the next fresh address, got %s", ip3)
	}
	for i := 0; i < 250; i++ {
		if _, err := a.alloc(2, "x"); err != nil {
			t.Fatal(err)
		}
	}
	// Only .2 is free now: the cursor wraps around to it.
	if ip, err := a.alloc(2, "d"); err != nil || ip != ip1 {
		t.Fatalf("wrap-around: %s %v", ip, err)
	}
	if _, err := a.alloc(2, "y"); err == nil {
		t.Fatal("pool must run out")
	}
	if ip, _ := a.alloc(3, "z"); ip != "10.244.3.2" {
		t.Fatalf("nodes have their own cursor: %s", ip)
	}
}
