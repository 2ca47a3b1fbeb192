package l7

import (
	"encoding/binary"
	"testing"
)

func kexinit(lists ...string) []byte {
	msg := append([]byte{20}, make([]byte, 16)...)
	for _, l := range lists {
		msg = binary.BigEndian.AppendUint32(msg, uint32(len(l)))
		msg = append(msg, l...)
	}
	msg = append(msg, 0, 0, 0, 0, 0) // first_kex_packet_follows, reserved
	pad := 4
	pkt := binary.BigEndian.AppendUint32(nil, uint32(1+len(msg)+pad))
	pkt = append(pkt, byte(pad))
	pkt = append(pkt, msg...)
	return append(pkt, make([]byte, pad)...)
}

func TestSSHClientHASSH(t *testing.T) {
	k := kexinit("curve25519-sha256,diffie-hellman-group14-sha256", "ssh-ed25519",
		"aes128-ctr,aes256-gcm@openssh.com", "aes128-ctr", "hmac-sha2-256", "hmac-sha2-256", "none,zlib@openssh.com", "none", "", "")
	// md5("curve25519-sha256,diffie-hellman-group14-sha256;aes128-ctr,aes256-gcm@openssh.com;hmac-sha2-256;none,zlib@openssh.com")
	// as python3's hashlib computes it.
	const want = "7b3f76e580e44aea1e396d8af55a8228"
	for _, c := range []struct {
		name string
		in   []byte
		want string
		ok   bool
	}{
		{"kexinit", k, want, true},
		{"banner and kexinit", append([]byte("SSH-2.0-OpenSSH_9.2p1\r\n"), k...), want, true},
		{"banner only", []byte("SSH-2.0-OpenSSH_9.2p1\r\n"), "", false},
		{"cut", k[:40], "", false},
		{"other message", append(append([]byte{}, k[:5]...), 21), "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := SSHClientHASSH(c.in)
			if got != c.want || ok != c.ok {
				t.Errorf("got %q %v, want %q %v", got, ok, c.want, c.ok)
			}
		})
	}
}

func FuzzSSHClientHASSH(f *testing.F) {
	f.Add(kexinit("a", "b", "c", "d", "e", "f", "g", "h", "", ""))
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, ok := SSHClientHASSH(b); ok != (len(h) == 32) {
			t.Fatalf("fingerprint %q ok=%v", h, ok)
		}
	})
}
