package auth

import (
	"errors"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
)

func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newAuth(t testing.TB) (*Auth, *store.Store) {
	t.Helper()
	s := openStore(t, t.TempDir())
	t.Cleanup(func() { s.Close() })
	a, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	return a, s
}

func TestDefaultAdmin(t *testing.T) {
	a, s := newAuth(t)
	u, ok := a.User("ADMIN")
	if !ok || u.FullName != "ntopng Administrator" || u.Group != GroupAdministrator || u.AllowedNets != DefaultAllowedNets {
		t.Fatalf("admin = %+v %v", u, ok)
	}
	if !regexp.MustCompile(`^\$2[ab]\$10\$`).MatchString(u.PasswordHash) {
		t.Fatalf("admin hash %q is not bcrypt cost 10", u.PasswordHash)
	}
	if !a.CheckPassword("admin", "admin") || a.CheckPassword("admin", "Admin") || a.CheckPassword("admin", "") {
		t.Fatal("default password check wrong")
	}
	if a.AdminPasswordChanged() {
		t.Fatal("AdminPasswordChanged true with default password")
	}
	// A second New must not reset a changed password.
	if err := a.SetPassword("admin", "s3cret"); err != nil {
		t.Fatal(err)
	}
	a2, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	if a2.CheckPassword("admin", "admin") || !a2.CheckPassword("admin", "s3cret") {
		t.Fatal("New reset the admin password")
	}
	if !a2.AdminPasswordChanged() {
		t.Fatal("AdminPasswordChanged false after change")
	}
	if err := a2.SetPassword("admin", "admin"); err != nil {
		t.Fatal(err)
	}
	if a2.AdminPasswordChanged() {
		t.Fatal("back to the default password must re-arm the warning")
	}
}

func TestUsersCRUD(t *testing.T) {
	a, _ := newAuth(t)
	if err := a.AddUser(User{Username: "Bob", FullName: "Bob B"}, "pw1"); err != nil {
		t.Fatal(err)
	}
	if err := a.AddUser(User{Username: "bob"}, "other"); !errors.Is(err, ErrUserExists) {
		t.Fatalf("duplicate add: %v", err)
	}
	u, ok := a.User("bob")
	if !ok || u.Username != "bob" || u.Group != GroupUnprivileged || u.AllowedNets != DefaultAllowedNets || u.AllowedIfname != "" {
		t.Fatalf("bob = %+v", u)
	}
	if !a.CheckPassword("BOB", "pw1") || a.CheckPassword("bob", "pw2") || a.CheckPassword("nobody", "pw1") {
		t.Fatal("CheckPassword wrong")
	}

	for _, bad := range []User{{Username: ""}, {Username: "a b"}, {Username: "x", Group: "root"}, {Username: "y", AllowedNets: "10.0.0.0/8,bogus"}} {
		if err := a.AddUser(bad, "pw"); !errors.Is(err, ErrInvalid) {
			t.Errorf("AddUser(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
	if err := a.AddUser(User{Username: "carol"}, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty password: %v", err)
	}
	long := string(make([]byte, 73))
	if err := a.AddUser(User{Username: "carol"}, long); !errors.Is(err, ErrInvalid) {
		t.Errorf("73-byte password: %v", err)
	}

	err := a.EditUser("bob", func(u *User) error {
		u.Group = GroupAdministrator
		u.AllowedNets = "192.168.1.0/24, 10.1.2.3"
		u.AllowedIfname = "eth1"
		u.AllowAlerts = true
		u.HostPoolID = 3
		u.Username = "mallory" // ignored
		u.PasswordHash = "x"   // ignored
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	u, _ = a.User("bob")
	if u.Group != GroupAdministrator || u.AllowedIfname != "eth1" || !u.AllowAlerts || u.HostPoolID != 3 {
		t.Fatalf("after edit: %+v", u)
	}
	if _, ok := a.User("mallory"); ok || !a.CheckPassword("bob", "pw1") {
		t.Fatal("EditUser changed username or password")
	}
	if err := a.EditUser("bob", func(u *User) error { u.Group = "wizard"; return nil }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad group edit: %v", err)
	}
	if err := a.EditUser("ghost", func(*User) error { return nil }); !errors.Is(err, ErrNoSuchUser) {
		t.Fatalf("edit missing: %v", err)
	}
	if err := a.EditUser("admin", func(u *User) error { u.Group = GroupUnprivileged; return nil }); !errors.Is(err, ErrProtectedUser) {
		t.Fatalf("demote admin: %v", err)
	}

	users, err := a.Users()
	if err != nil || len(users) != 2 || users[0].Username != "admin" || users[1].Username != "bob" {
		t.Fatalf("Users = %+v, %v", users, err)
	}

	if err := a.SetPassword("bob", "pw2"); err != nil {
		t.Fatal(err)
	}
	if a.CheckPassword("bob", "pw1") || !a.CheckPassword("bob", "pw2") {
		t.Fatal("SetPassword did not take")
	}
	if err := a.SetPassword("ghost", "x"); !errors.Is(err, ErrNoSuchUser) {
		t.Fatalf("SetPassword missing: %v", err)
	}
	if a.AdminPasswordChanged() {
		t.Fatal("changing bob's password flagged admin's as changed")
	}

	if err := a.DeleteUser("admin"); !errors.Is(err, ErrProtectedUser) {
		t.Fatalf("delete admin: %v", err)
	}
	if err := a.DeleteUser("Bob"); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteUser("bob"); !errors.Is(err, ErrNoSuchUser) {
		t.Fatalf("delete twice: %v", err)
	}
	if a.CheckPassword("bob", "pw2") {
		t.Fatal("deleted user can log in")
	}
}

func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	a, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AddUser(User{Username: "dave"}, "pw"); err != nil {
		t.Fatal(err)
	}
	tok, err := a.CreateToken("dave")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := a.CreateSession("dave", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir)
	defer s.Close()
	a, err = New(s)
	if err != nil {
		t.Fatal(err)
	}
	if !a.CheckPassword("dave", "pw") {
		t.Fatal("user lost on restart")
	}
	if u, ok := a.UserForToken(tok); !ok || u != "dave" {
		t.Fatal("token lost on restart")
	}
	if u, ok := a.UserForSession(sid); !ok || u != "dave" {
		t.Fatal("session lost on restart")
	}
}

func TestTokens(t *testing.T) {
	a, s := newAuth(t)
	if err := a.AddUser(User{Username: "erin"}, "pw"); err != nil {
		t.Fatal(err)
	}
	tok1, err := a.CreateToken("erin")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(tok1) {
		t.Fatalf("token %q not 32 lowercase hex", tok1)
	}
	if u, ok := a.UserForToken(tok1); !ok || u != "erin" {
		t.Fatal("token not valid")
	}
	// The database must not contain the token itself.
	s.List(nsTokens, func(k string, raw []byte) error {
		if k == tok1 || regexp.MustCompile(tok1).Match(raw) {
			t.Error("plaintext token stored")
		}
		return nil
	})

	tok2, err := a.CreateToken("erin")
	if err != nil {
		t.Fatal(err)
	}
	if tok2 == tok1 {
		t.Fatal("rotation returned the same token")
	}
	if _, ok := a.UserForToken(tok1); ok {
		t.Fatal("old token still valid after rotation")
	}
	if u, ok := a.UserForToken(tok2); !ok || u != "erin" {
		t.Fatal("new token not valid")
	}
	adminTok, err := a.CreateToken("admin")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.UserForToken(tok2); !ok {
		t.Fatal("another user's token creation revoked erin's")
	}
	for _, junk := range []string{"", "x", tok2[:31], tok2 + "0", "ABCDEF0123456789ABCDEF0123456789", "00000000000000000000000000000000"} {
		if _, ok := a.UserForToken(junk); ok {
			t.Errorf("junk token %q accepted", junk)
		}
	}
	if _, err := a.CreateToken("ghost"); !errors.Is(err, ErrNoSuchUser) {
		t.Fatalf("token for missing user: %v", err)
	}

	if err := a.DeleteUser("erin"); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.UserForToken(tok2); ok {
		t.Fatal("deleted user's token still valid")
	}
	// Recreating the name must not revive the old token.
	if err := a.AddUser(User{Username: "erin"}, "pw"); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.UserForToken(tok2); ok {
		t.Fatal("token revived by re-adding the user")
	}
	if _, ok := a.UserForToken(adminTok); !ok {
		t.Fatal("admin token lost")
	}
}

func TestSessions(t *testing.T) {
	a, _ := newAuth(t)
	now := time.Unix(1_700_000_000, 0)
	a.now = func() time.Time { return now }
	if err := a.AddUser(User{Username: "frank"}, "pw"); err != nil {
		t.Fatal(err)
	}

	sDefault, err := a.CreateSession("frank", 0)
	if err != nil {
		t.Fatal(err)
	}
	sShort, err := a.CreateSession("Frank", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if sDefault == sShort || len(sShort) != 32 {
		t.Fatalf("bad ids %q %q", sDefault, sShort)
	}
	for _, id := range []string{sDefault, sShort} {
		if u, ok := a.UserForSession(id); !ok || u != "frank" {
			t.Fatalf("fresh session %q invalid", id)
		}
	}
	now = now.Add(10 * time.Second)
	if _, ok := a.UserForSession(sShort); ok {
		t.Fatal("10 s session alive after 10 s")
	}
	now = now.Add(3600*time.Second - 11*time.Second)
	if _, ok := a.UserForSession(sDefault); !ok {
		t.Fatal("default session dead before 3600 s")
	}
	now = now.Add(time.Second)
	if _, ok := a.UserForSession(sDefault); ok {
		t.Fatal("default session alive after 3600 s")
	}

	now = time.Unix(1_700_000_000, 0)
	live, _ := a.CreateSession("frank", 0)
	if err := a.DeleteSession(live); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.UserForSession(live); ok {
		t.Fatal("session alive after logout")
	}
	if _, err := a.CreateSession("ghost", 0); !errors.Is(err, ErrNoSuchUser) {
		t.Fatalf("session for missing user: %v", err)
	}
	if _, err := a.CreateSession("frank", -time.Second); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative lifetime: %v", err)
	}

	live, _ = a.CreateSession("frank", 0)
	if err := a.DeleteUser("frank"); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.UserForSession(live); ok {
		t.Fatal("deleted user's session alive")
	}
}

// TestSessionBadgerTTL checks the real clock path: the record itself
// disappears from Badger once its TTL passes.
func TestSessionBadgerTTL(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps")
	}
	a, s := newAuth(t)
	id, err := a.CreateSession("admin", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.UserForSession(id); !ok {
		t.Fatal("fresh session invalid")
	}
	time.Sleep(2100 * time.Millisecond)
	if _, ok := a.UserForSession(id); ok {
		t.Fatal("session alive after TTL")
	}
	n := 0
	s.List(nsSessions, func(string, []byte) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d session records left after TTL", n)
	}
}

func TestConcurrentTokenRotation(t *testing.T) {
	a, _ := newAuth(t)
	var wg sync.WaitGroup
	toks := make([]string, 8)
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := a.CreateToken("admin")
			if err != nil {
				t.Error(err)
			}
			toks[i] = tok
		}()
	}
	wg.Wait()
	valid := 0
	for _, tok := range toks {
		if _, ok := a.UserForToken(tok); ok {
			valid++
		}
	}
	if valid != 1 {
		t.Fatalf("%d tokens valid after concurrent rotation, want exactly 1", valid)
	}
}

func BenchmarkCheckPassword(b *testing.B) {
	a, _ := newAuth(b)
	for b.Loop() {
		if !a.CheckPassword("admin", "admin") {
			b.Fatal("check failed")
		}
	}
}

// A store that had users and lost them (the admin record gone, the rest of
// the store there) is refused: admin/admin must not come back. A store
// from before the mark, holding its users, is marked and opens.
func TestLostUsersRefused(t *testing.T) {
	for _, c := range []struct {
		name    string
		prepare func(t *testing.T, s *store.Store)
		wantErr error
	}{
		{"fresh store", func(*testing.T, *store.Store) {}, nil},
		{"users kept", func(t *testing.T, s *store.Store) { mustNew(t, s) }, nil},
		{"admin record lost", func(t *testing.T, s *store.Store) {
			mustNew(t, s)
			if err := s.Delete(nsUsers, AdminUser); err != nil {
				t.Fatal(err)
			}
		}, ErrUsersLost},
		{"lost before the mark existed, password changed", func(t *testing.T, s *store.Store) {
			mustNew(t, s)
			for _, k := range []struct{ ns, key string }{{nsUsers, AdminUser}, {nsPrefs, prefUsersCreated}} {
				if err := s.Delete(k.ns, k.key); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Put(nsPrefs, prefAdminPasswordChanged, true); err != nil {
				t.Fatal(err)
			}
		}, ErrUsersLost},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := openStore(t, t.TempDir())
			defer s.Close()
			c.prepare(t, s)
			_, err := New(s)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("New: %v, want %v", err, c.wantErr)
			}
			if c.wantErr != nil {
				var u User
				if found, _ := s.Get(nsUsers, AdminUser, &u); found {
					t.Errorf("admin recreated in a store that lost its users")
				}
			}
		})
	}
}

func mustNew(t *testing.T, s *store.Store) {
	t.Helper()
	if _, err := New(s); err != nil {
		t.Fatal(err)
	}
}
