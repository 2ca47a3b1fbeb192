package update

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/probe-appliance/probe/internal/badinput"
)

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// signer is a signing key and its public half.
type signer struct {
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newSigner(t *testing.T) signer {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signer{pub, priv}
}

func (s signer) sign(b []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(s.priv, b))
}

func TestStage(t *testing.T) {
	kernel := make([]byte, 4096)
	copy(kernel[0x202:], "HdrS")
	initrd := append([]byte("070701"), make([]byte, 100)...)
	// An altered kernel: still a kernel, the sender's checksum matches it.
	tampered := append([]byte(nil), kernel...)
	tampered[3000] ^= 1
	files := map[string][]byte{"/k": kernel, "/i": initrd, "/t": tampered, "/junk": []byte("<html>not found</html>")}
	trusted, other, stranger := newSigner(t), newSigner(t), newSigner(t)
	keys := []ed25519.PublicKey{other.pub, trusted.pub}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	defer srv.Close()
	good := func() (Part, Part) {
		return Part{srv.URL + "/k", sum(kernel), trusted.sign(kernel)}, Part{srv.URL + "/i", strings.ToUpper(sum(initrd)), trusted.sign(initrd)}
	}

	dir := filepath.Join(t.TempDir(), "update")
	k, i := good()
	if err := Stage(context.Background(), srv.Client(), dir, keys, k, i); err != nil {
		t.Fatal(err)
	}
	if !IsReady(dir) {
		t.Fatal("not ready")
	}
	if got, _ := os.ReadFile(filepath.Join(dir, Kernel)); string(got) != string(kernel) {
		t.Error("kernel bytes differ")
	}
	// The installer's second look agrees, and catches a file changed after
	// staging.
	if err := Verify(dir, keys); err != nil {
		t.Errorf("verify staged: %v", err)
	}
	if err := Verify(dir, []ed25519.PublicKey{stranger.pub}); err == nil {
		t.Error("verify staged with another key: accepted")
	}
	if err := os.WriteFile(filepath.Join(dir, Initrd), append([]byte("070701"), make([]byte, 101)...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Verify(dir, keys); err == nil {
		t.Error("verify: a staged file changed after staging was accepted")
	}
	os.RemoveAll(dir)

	for _, tc := range []struct {
		name   string
		mod    func(k, i *Part)
		msg    string
		client bool // an input error (INVALID_ARGUMENTS)
	}{
		{"wrong hash", func(k, i *Part) { k.SHA256 = sum([]byte("x")) }, "sha256 is", true},
		{"bad hash", func(k, i *Part) { i.SHA256 = "abc" }, "64 hex digits", true},
		{"not found", func(k, i *Part) { i.URL = srv.URL + "/nope" }, "404", true},
		{"not a kernel", func(k, i *Part) { k.URL, k.SHA256 = srv.URL+"/junk", sum(files["/junk"]) }, "bzImage", true},
		{"not an initramfs", func(k, i *Part) { i.URL, i.SHA256 = srv.URL+"/junk", sum(files["/junk"]) }, "initramfs", true},
		{"file url", func(k, i *Part) { k.URL = "file:///etc/passwd" }, "http", true},
		{"kernel signature missing", func(k, i *Part) { k.Sig = "" }, "signature missing", true},
		{"initrd signature missing", func(k, i *Part) { i.Sig = " " }, "signature missing", true},
		{"signature not base64", func(k, i *Part) { k.Sig = "not base64!" }, "base64", true},
		{"signature short", func(k, i *Part) { k.Sig = base64.StdEncoding.EncodeToString(make([]byte, 32)) }, "64-byte", true},
		{"wrong key", func(k, i *Part) { i.Sig = stranger.sign(initrd) }, "not by a key this appliance trusts", true},
		{"signature of the other file", func(k, i *Part) { k.Sig = i.Sig }, "not by a key this appliance trusts", true},
		{"tampered kernel", func(k, i *Part) { k.URL, k.SHA256 = srv.URL+"/t", sum(tampered) }, "not by a key this appliance trusts", true},
	} {
		k, i := good()
		tc.mod(&k, &i)
		err := Stage(context.Background(), srv.Client(), dir, keys, k, i)
		if err == nil || !strings.Contains(err.Error(), tc.msg) || badinput.Is(err) != tc.client {
			t.Errorf("%s: %v", tc.name, err)
		}
		if IsReady(dir) {
			t.Errorf("%s: a failed update is marked ready", tc.name)
		}
		// Nothing of a refused update is left for the installer.
		if ents, err := os.ReadDir(dir); !os.IsNotExist(err) {
			t.Errorf("%s: staging directory left with %d entries (%v)", tc.name, len(ents), err)
		}
	}

	// No trusted key at all: every update is refused, as the appliance's
	// fault (not INVALID_ARGUMENTS).
	k, i = good()
	if err := Stage(context.Background(), srv.Client(), dir, nil, k, i); err == nil || badinput.Is(err) || IsReady(dir) {
		t.Errorf("no keys: %v", err)
	}
}

func TestLoadKeys(t *testing.T) {
	a, b := newSigner(t), newSigner(t)
	path := filepath.Join(t.TempDir(), "update-keys")
	text := "# release key\n" + base64.StdEncoding.EncodeToString(a.pub) + "\n\n  " + base64.StdEncoding.EncodeToString(b.pub) + "  \n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	keys, err := LoadKeys(path)
	if err != nil || len(keys) != 2 || !keys[0].Equal(a.pub) || !keys[1].Equal(b.pub) {
		t.Fatalf("keys %v, %v", keys, err)
	}
	if err := os.WriteFile(path, []byte(text+"garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeys(path); err == nil || !strings.Contains(err.Error(), ":5:") {
		t.Errorf("bad line: %v", err)
	}
}
