// Package update stages a firmware update: it downloads a kernel and an
// initramfs from URLs the administrator gives, checks their SHA-256 and
// that they look like what they claim to be, and leaves them in a staging
// directory with a ready marker. Installing them into the inactive boot
// slot is probeinit's job (package slots); the probe, which authenticated
// the request, only stages.
package update

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/probe-appliance/probe/internal/badinput"
)

// Staged file names in the staging directory.
const (
	Kernel = "vmlinuz"
	Initrd = "initrd"
	Ready  = "ready"
)

// MaxSize bounds each download.
const MaxSize = 512 << 20

// Part is one file of an update.
type Part struct {
	URL    string
	SHA256 string // hex
}

// bad is an error in what the administrator sent (vs. the appliance's own
// trouble): the REST answer says INVALID_ARGUMENTS.
var bad = badinput.Errorf

// Stage downloads kernel and initrd into dir and marks them ready.
func Stage(ctx context.Context, client *http.Client, dir string, kernel, initrd Part) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("update: clearing %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	for _, p := range []struct {
		name  string
		part  Part
		check func([]byte) bool
		what  string
	}{
		{Kernel, kernel, isKernel, "a Linux bzImage (no HdrS header)"},
		{Initrd, initrd, isInitrd, "an initramfs (cpio newc, or gzip/xz/zstd)"},
	} {
		if err := fetch(ctx, client, filepath.Join(dir, p.name), p.name, p.part, p.check, p.what); err != nil {
			os.RemoveAll(dir)
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, Ready), []byte("ready\n"), 0o644)
}

func fetch(ctx context.Context, client *http.Client, dst, name string, p Part, check func([]byte) bool, what string) error {
	want, err := hex.DecodeString(strings.ToLower(p.SHA256))
	if err != nil || len(want) != sha256.Size {
		return bad("%s: sha256 must be 64 hex digits", name)
	}
	if !strings.HasPrefix(p.URL, "http://") && !strings.HasPrefix(p.URL, "https://") {
		return bad("%s: url must be http:// or https://", name)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return bad("%s: %v", name, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return bad("%s: %v", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return bad("%s: GET %s: %s", name, p.URL, resp.Status)
	}
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	head := &prefix{n: 1024}
	n, err := io.Copy(io.MultiWriter(f, h, head), io.LimitReader(resp.Body, MaxSize+1))
	if err != nil {
		return bad("%s: download: %v", name, err)
	}
	if n > MaxSize {
		return bad("%s: larger than %d MiB", name, MaxSize>>20)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want) {
		return bad("%s: sha256 is %x, not %s", name, got, strings.ToLower(p.SHA256))
	}
	if !check(head.b) {
		return bad("%s: not %s", name, what)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	return f.Close()
}

// prefix keeps the first n bytes written to it.
type prefix struct {
	n int
	b []byte
}

func (p *prefix) Write(b []byte) (int, error) {
	if room := p.n - len(p.b); room > 0 {
		p.b = append(p.b, b[:min(room, len(b))]...)
	}
	return len(b), nil
}

// isKernel: the x86 boot protocol's "HdrS" signature at 0x202.
func isKernel(b []byte) bool { return len(b) >= 0x206 && string(b[0x202:0x206]) == "HdrS" }

func isInitrd(b []byte) bool {
	for _, magic := range [][]byte{
		[]byte("070701"), {0x1f, 0x8b}, {0xfd, '7', 'z', 'X', 'Z', 0}, {0x28, 0xb5, 0x2f, 0xfd},
	} {
		if bytes.HasPrefix(b, magic) {
			return true
		}
	}
	return false
}

// IsReady reports whether dir holds a complete staged update.
func IsReady(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, Ready))
	return err == nil
}
