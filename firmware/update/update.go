// Package update stages a firmware update: it downloads a kernel and an
// initramfs from URLs the administrator gives, checks their SHA-256, their
// detached ed25519 signatures against the keys the appliance trusts, and
// that they look like what they claim to be, and leaves them in a staging
// directory with a ready marker. Installing them into the inactive boot
// slot is probeinit's job (package slots); the probe, which authenticated
// the request, only stages.
package update

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/probe-appliance/probe/internal/badinput"
)

// Staged file names in the staging directory; each file's signature is
// beside it with SigSuffix, for the installer to check again.
const (
	Kernel    = "vmlinuz"
	Initrd    = "initrd"
	Ready     = "ready"
	SigSuffix = ".sig"
)

// MaxSize bounds each download.
const MaxSize = 512 << 20

// Part is one file of an update.
type Part struct {
	URL    string
	SHA256 string // hex
	// Sig is the base64 of the ed25519 signature of the file's bytes.
	Sig string
}

// bad is an error in what the administrator sent (vs. the appliance's own
// trouble): the REST answer says INVALID_ARGUMENTS.
var bad = badinput.Errorf

// Stage downloads kernel and initrd into dir and marks them ready once
// both are verified; each must carry a signature by one of keys. A refused
// update leaves nothing in dir.
func Stage(ctx context.Context, client *http.Client, dir string, keys []ed25519.PublicKey, kernel, initrd Part) error {
	if len(keys) == 0 {
		return errors.New("update: this appliance trusts no signing key: updates are refused")
	}
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
		if err := fetch(ctx, client, filepath.Join(dir, p.name), p.name, keys, p.part, p.check, p.what); err != nil {
			os.RemoveAll(dir)
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, Ready), []byte("ready\n"), 0o644)
}

func fetch(ctx context.Context, client *http.Client, dst, name string, keys []ed25519.PublicKey, p Part, check func([]byte) bool, what string) error {
	want, err := hex.DecodeString(strings.ToLower(p.SHA256))
	if err != nil || len(want) != sha256.Size {
		return bad("%s: sha256 must be 64 hex digits", name)
	}
	// Before anything is downloaded: an unsigned update goes nowhere.
	sig, err := ParseSignature(p.Sig)
	if err != nil {
		return bad("%s: %v", name, err)
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
	if err := f.Close(); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	ok, err := VerifyFile(dst, sig, keys)
	if err != nil {
		return err
	}
	if !ok {
		return bad("%s: the signature is not by a key this appliance trusts, or the file was altered", name)
	}
	return os.WriteFile(dst+SigSuffix, []byte(base64.StdEncoding.EncodeToString(sig)+"\n"), 0o644)
}

// ParseSignature decodes a detached signature: base64 (standard alphabet)
// of the 64-byte ed25519 signature.
func ParseSignature(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("signature missing: every update file needs its ed25519 signature (kernel_sig, initrd_sig)")
	}
	sig, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("signature must be the base64 of a %d-byte ed25519 signature", ed25519.SignatureSize)
	}
	return sig, nil
}

// ParseKey decodes a trusted key: base64 (standard alphabet) of a 32-byte
// ed25519 public key.
func ParseKey(s string) (ed25519.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("key %q: want the base64 of a %d-byte ed25519 public key", s, ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

// LoadKeys reads a key file: one key (as ParseKey) per line; blank lines
// and lines starting with # are skipped.
func LoadKeys(path string) ([]ed25519.PublicKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("update keys: %w", err)
	}
	defer f.Close()
	var keys []ed25519.PublicKey
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := ParseKey(line)
		if err != nil {
			return nil, fmt.Errorf("update keys: %s:%d: %w", path, n, err)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("update keys: %s: %w", path, err)
	}
	return keys, nil
}

// VerifyFile reports whether sig is one of keys' signature of the file's
// bytes. The file is mapped, not read: an initramfs may be hundreds of MiB
// and ed25519 signs the whole message, not a hash of it.
func VerifyFile(path string, sig []byte, keys []ed25519.PublicKey) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("update: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("update: %w", err)
	}
	var msg []byte
	if st.Size() > 0 {
		msg, err = unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			return false, fmt.Errorf("update: mapping %s: %w", path, err)
		}
		defer unix.Munmap(msg)
	}
	for _, k := range keys {
		if ed25519.Verify(k, msg, sig) {
			return true, nil
		}
	}
	return false, nil
}

// Verify checks a staged update again, as the installer does before it
// writes a slot: both files present with signatures by one of keys.
func Verify(dir string, keys []ed25519.PublicKey) error {
	for _, name := range []string{Kernel, Initrd} {
		path := filepath.Join(dir, name)
		raw, err := os.ReadFile(path + SigSuffix)
		if err != nil {
			return fmt.Errorf("update: %s: no signature: %w", name, err)
		}
		sig, err := ParseSignature(string(raw))
		if err != nil {
			return fmt.Errorf("update: %s: %w", name, err)
		}
		ok, err := VerifyFile(path, sig, keys)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("update: %s: signature not by a trusted key", name)
		}
	}
	return nil
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
