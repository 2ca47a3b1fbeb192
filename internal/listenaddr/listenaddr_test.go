package listenaddr

import "testing"

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:6060": true, "127.9.9.9:1": true, "[::1]:6060": true, "localhost:6060": true, "LOCALHOST:1": true,
		"[::ffff:127.0.0.1]:6060": true, "[::1%lo]:6060": true,
		"0.0.0.0:6060": false, ":6060": false, "[::]:6060": false, "192.0.2.1:6060": false,
		"probe.example.org:6060": false, "6060": false, "": false,
	} {
		if got := Loopback(addr); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", addr, got, want)
		}
	}
	for in, want := range map[string]string{"0.0.0.0:6060": "127.0.0.1:6060", ":7000": "127.0.0.1:7000", "[::]:1": "127.0.0.1:1", "junk": "junk"} {
		if got := OnLoopback(in); got != want {
			t.Errorf("OnLoopback(%q) = %q, want %q", in, got, want)
		}
	}
}
