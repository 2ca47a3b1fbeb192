package store

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

type rec struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func TestKVRoundTrip(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()

	if err := s.Put("users", "alice", rec{"Alice", 1}); err != nil {
		t.Fatal(err)
	}
	var got rec
	found, err := s.Get("users", "alice", &got)
	if err != nil || !found || got != (rec{"Alice", 1}) {
		t.Fatalf("Get = %v %v %+v", found, err, got)
	}
	if found, err := s.Get("users", "bob", &got); err != nil || found {
		t.Fatalf("Get missing = %v %v", found, err)
	}
	// Same key in a namespace that shares a prefix must not collide.
	if found, _ := s.Get("user", "salice", &got); found {
		t.Fatal("namespace prefix leak")
	}
	if err := s.Delete("users", "alice"); err != nil {
		t.Fatal(err)
	}
	if found, _ := s.Get("users", "alice", &got); found {
		t.Fatal("found after Delete")
	}
	if err := s.Delete("users", "never-existed"); err != nil {
		t.Fatalf("Delete missing: %v", err)
	}
}

func TestKVBadNamespace(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	for _, ns := range []string{"", "a\x00b"} {
		if err := s.Put(ns, "k", 1); err == nil {
			t.Errorf("Put(%q) accepted", ns)
		}
		if _, err := s.Get(ns, "k", new(int)); err == nil {
			t.Errorf("Get(%q) accepted", ns)
		}
		if err := s.List(ns, func(string, []byte) error { return nil }); err == nil {
			t.Errorf("List(%q) accepted", ns)
		}
	}
	var x int
	if err := s.Put("ns", "k", "not a number"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("ns", "k", &x); err == nil {
		t.Error("Get into wrong type succeeded")
	}
	if err := s.Put("ns", "k", make(chan int)); err == nil {
		t.Error("Put of unencodable value succeeded")
	}
}

func TestKVList(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	for i := range 5 {
		if err := s.Put("aliases", fmt.Sprintf("k%d", i), rec{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put("aliasesX", "k9", rec{N: 9}); err != nil { // neighbour namespace
		t.Fatal(err)
	}
	if err := s.Put("aliases", "k\x00nul", rec{N: 42}); err != nil { // NUL allowed in keys
		t.Fatal(err)
	}
	var keys []string
	err := s.List("aliases", func(k string, raw []byte) error {
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "[k\x00nul k0 k1 k2 k3 k4]" // byte order
	if fmt.Sprint(keys) != want {
		t.Fatalf("keys = %q, want %q", fmt.Sprint(keys), want)
	}

	stop := errors.New("stop")
	n := 0
	err = s.List("aliases", func(string, []byte) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("List stop: err=%v n=%d", err, n)
	}

	// Writing from inside fn must work (auth deletes sessions while listing).
	err = s.List("aliases", func(k string, _ []byte) error { return s.Delete("aliases", k) })
	if err != nil {
		t.Fatal(err)
	}
	n = 0
	s.List("aliases", func(string, []byte) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d left after delete-while-listing", n)
	}
}

func TestKVTTL(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps")
	}
	s := openTest(t, t.TempDir())
	defer s.Close()
	if err := s.PutTTL("sessions", "s1", rec{N: 1}, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTTL("sessions", "s2", rec{N: 2}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTTL("sessions", "s3", 3, 0); err == nil {
		t.Fatal("zero ttl accepted")
	}
	var r rec
	if found, err := s.Get("sessions", "s1", &r); !found || err != nil {
		t.Fatalf("fresh TTL record: %v %v", found, err)
	}
	time.Sleep(2100 * time.Millisecond) // 1 s rounded up to whole seconds, plus slack
	if found, err := s.Get("sessions", "s1", &r); found || err != nil {
		t.Fatalf("expired record still there: %v %v", found, err)
	}
	var keys []string
	s.List("sessions", func(k string, _ []byte) error { keys = append(keys, k); return nil })
	if fmt.Sprint(keys) != "[s2]" {
		t.Fatalf("List after expiry = %v", keys)
	}
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	if err := s.Put("prefs", "x", rec{"y", 7}); err != nil {
		t.Fatal(err)
	}
	base := int64(1_700_000_100)
	if err := s.WriteFlows([]FlowRecord{{IfID: 1, LastSeen: base, PktsC2S: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, dir)
	defer s.Close()
	var r rec
	if found, err := s.Get("prefs", "x", &r); !found || err != nil || r.N != 7 {
		t.Fatalf("after reopen: %v %v %+v", found, err, r)
	}
	// New chunks after a restart must not overwrite old ones (sequence
	// numbers continue rather than restart).
	if err := s.WriteFlows([]FlowRecord{{IfID: 1, LastSeen: base, PktsC2S: 2}}); err != nil {
		t.Fatal(err)
	}
	var pk []uint64
	s.ScanFlows(1, base, base+1, func(r *FlowRecord) error { pk = append(pk, r.PktsC2S); return nil })
	if fmt.Sprint(pk) != "[1 2]" {
		t.Fatalf("flows after reopen = %v", pk)
	}
}

func TestInMemory(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Put("a", "b", 1); err != nil {
		t.Fatal(err)
	}
	var v int
	if found, _ := s.Get("a", "b", &v); !found || v != 1 {
		t.Fatal("in-memory round trip failed")
	}
}
