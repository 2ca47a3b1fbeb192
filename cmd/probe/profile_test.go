package main

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The hidden profiling flags write their profiles (gzipped protobuf, as
// pprof reads them) once the capture file was read, while the probe keeps
// running.
func TestProfilesWrittenWhenTheCaptureWasRead(t *testing.T) {
	dir := t.TempDir()
	capture := filepath.Join(dir, "c.pcap")
	writeCapture(t, capture, 20)
	cpu, mem := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof")
	p := startProbe(t, "-i", capture, "-d", filepath.Join(dir, "db"), "--disable-login", "--cpuprofile", cpu, "--memprofile", mem)
	for _, path := range []string{cpu, mem} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			f, err := os.Open(path)
			if err == nil {
				n, perr := readGzip(f)
				f.Close()
				if perr == nil && n > 0 {
					break
				}
				err = perr
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no readable profile while the probe runs (last: %v); output:\n%s", path, err, p.out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func readGzip(r io.Reader) (int64, error) {
	z, err := gzip.NewReader(r)
	if err != nil {
		return 0, err
	}
	return io.Copy(io.Discard, z)
}
