// Package clickhouse writes the probe's flows and alerts into a ClickHouse
// server shared by many probes (ntopng's historical store), without losing
// records while the server is unreachable: every batch goes through a
// bounded on-disk spool first and leaves it only once ClickHouse took it.
package clickhouse

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Target is where the sink writes: a native-protocol address and a database.
type Target struct {
	Addr     string // host:port
	Database string
	User     string
	Password string
}

// ParseURL reads --clickhouse: tcp://[user[:password]@]host[:port][/database]
// (port 9000 and database "default" when left out).
func ParseURL(s string) (Target, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Target{}, fmt.Errorf("clickhouse url %q: %w", s, err)
	}
	if u.Scheme != "tcp" && u.Scheme != "clickhouse" {
		return Target{}, fmt.Errorf("clickhouse url %q: scheme must be tcp:// (the native protocol)", s)
	}
	if u.Hostname() == "" {
		return Target{}, fmt.Errorf("clickhouse url %q: no host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return Target{}, fmt.Errorf("clickhouse url %q: no query or fragment expected", s)
	}
	port := u.Port()
	if port == "" {
		port = "9000"
	}
	t := Target{Addr: net.JoinHostPort(u.Hostname(), port), Database: strings.Trim(u.Path, "/")}
	if t.Database == "" {
		t.Database = "default"
	}
	if !validIdent(t.Database) {
		return Target{}, fmt.Errorf("clickhouse url %q: database name must be letters, digits and _", s)
	}
	if u.User != nil {
		t.User = u.User.Username()
		t.Password, _ = u.User.Password()
	}
	return t, nil
}

// validIdent keeps the database name safe to place in DDL unquoted: it is
// the one name the schema statements cannot take as a parameter.
func validIdent(s string) bool {
	if s == "" || len(s) > 64 || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
