// Package chtest runs a real clickhouse-server (Debian's) for tests: on
// loopback, on its own port, with its own configuration and data directory
// under the test's temporary directory, stopped when the test ends.
package chtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/probe-appliance/probe/internal/fixture"
)

// Server is one clickhouse-server process (restartable on the same port
// and data).
type Server struct {
	Addr string // 127.0.0.1:port, native protocol
	Dir  string
	bin  string
	t    testing.TB
	cmd  *exec.Cmd
	exit chan struct{}
}

const configXML = `<yandex>
  <logger><level>warning</level><log>%[1]s/server.log</log><errorlog>%[1]s/error.log</errorlog><console>0</console></logger>
  <tcp_port>%[2]d</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>20</max_concurrent_queries>
</yandex>
`

const usersXML = `<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage><max_threads>2</max_threads></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`

// Start runs a server for t (skipped, or failed under CI, without
// clickhouse-server installed).
func Start(t testing.TB) *Server {
	t.Helper()
	bin := binary(t)
	dir := t.TempDir()
	port := freePort(t)
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), fmt.Appendf(nil, configXML, dir, port), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(usersXML), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir, bin: bin, t: t}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// binary finds Debian's clickhouse-server, in /usr/sbin even when PATH
// leaves sbin out (as CI's may).
func binary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return p
	}
	const sbin = "/usr/sbin/clickhouse-server"
	if _, err := os.Stat(sbin); err != nil {
		fixture.Missing(t, "clickhouse-server is not installed (scripts/install-deps.sh installs it): %v", err)
	}
	return sbin
}

// freePort asks the kernel for a free loopback port (clickhouse-server
// cannot be told to pick one and report it).
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start (re)starts the process and waits until it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, "--config-file="+filepath.Join(s.Dir, "config.xml"))
	cmd.Dir = s.Dir
	out, err := os.Create(filepath.Join(s.Dir, "stdout.log"))
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting clickhouse-server: %v", err)
	}
	out.Close()
	s.cmd, s.exit = cmd, make(chan struct{})
	go func(exit chan struct{}) { cmd.Wait(); close(exit) }(s.exit)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exit:
			log, _ := os.ReadFile(filepath.Join(s.Dir, "error.log"))
			s.t.Fatalf("clickhouse-server exited at start: %s", log)
		default:
		}
		if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	s.t.Fatalf("clickhouse-server did not listen on %s within 60s", s.Addr)
}

// Stop kills the process (SIGKILL: an outage, not a shutdown) and waits
// for it to be gone.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exit
	s.cmd = nil
}
