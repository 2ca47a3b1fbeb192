package update

import (
	"context"
	"crypto/sha256"
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

func TestStage(t *testing.T) {
	kernel := make([]byte, 4096)
	copy(kernel[0x202:], "HdrS")
	initrd := append([]byte("070701"), make([]byte, 100)...)
	files := map[string][]byte{"/k": kernel, "/i": initrd, "/junk": []byte("<html>not found</html>")}
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
		return Part{srv.URL + "/k", sum(kernel)}, Part{srv.URL + "/i", strings.ToUpper(sum(initrd))}
	}

	dir := filepath.Join(t.TempDir(), "update")
	k, i := good()
	if err := Stage(context.Background(), srv.Client(), dir, k, i); err != nil {
		t.Fatal(err)
	}
	if !IsReady(dir) {
		t.Fatal("not ready")
	}
	if got, _ := os.ReadFile(filepath.Join(dir, Kernel)); string(got) != string(kernel) {
		t.Error("kernel bytes differ")
	}

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
	} {
		k, i := good()
		tc.mod(&k, &i)
		err := Stage(context.Background(), srv.Client(), dir, k, i)
		if err == nil || !strings.Contains(err.Error(), tc.msg) || badinput.Is(err) != tc.client {
			t.Errorf("%s: %v", tc.name, err)
		}
		if IsReady(dir) {
			t.Errorf("%s: a failed update is marked ready", tc.name)
		}
	}
}
