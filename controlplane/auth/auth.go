// Package auth implements ntopng-compatible users, API tokens, login
// sessions and the failed-login limiter on top of the Badger store.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
)

var (
	ErrUserExists = errors.New("auth: user already exists")
	ErrNoSuchUser = errors.New("auth: no such user")
	// ErrInvalid wraps every rejected input (username, group, password,
	// allowed networks) so REST handlers can map it to 400 with errors.Is.
	ErrInvalid = errors.New("auth: invalid value")
	// ErrProtectedUser: the default admin cannot be deleted or demoted;
	// New would otherwise recreate it with the well-known password.
	ErrProtectedUser = errors.New("auth: the admin user cannot be deleted or demoted")
	// ErrUsersLost: the store had users and has lost them; the probe
	// refuses to start rather than bring back admin/admin.
	ErrUsersLost = errors.New("auth: the store's users are missing (damaged or partly restored store): refusing to recreate admin/admin; restore a backup (probe store restore) or reset the data directory")
)

const (
	GroupAdministrator = "administrator"
	GroupUnprivileged  = "unprivileged"

	AdminUser            = "admin"
	defaultAdminPassword = "admin"
	// defaultAdminHash is a bcrypt (cost bcryptCost) hash of
	// defaultAdminPassword.
	defaultAdminHash   = "$2a$10$LW95Q5RWJiMDZKc3dEJmwONgwpA8enUXD.c7ZNHieyoTmqipnjSqG"
	DefaultAllowedNets = "0.0.0.0/0,::/0"
	DefaultSessionTTL  = 3600 * time.Second
)

// Store namespaces owned by this package.
const (
	nsUsers      = store.NSUsers
	nsTokens     = store.NSTokens     // sha256(token) -> tokenRecord
	nsUserTokens = store.NSUserTokens // username -> userTokenRecord
	nsSessions   = store.NSSessions   // sha256(session id) -> sessionRecord
	nsPrefs      = store.NSPrefs

	prefAdminPasswordChanged = "admin_password_changed"
	// prefUsersCreated marks a store whose users were made: without it a
	// missing admin is a new store's, with it a lost one's.
	prefUsersCreated = "users_created"
)

// Auth is safe for concurrent use. Reads go straight to the store; the
// mutex serialises read-modify-write sequences (the store has no
// transactions in its API and this is the only writer of these namespaces).
type Auth struct {
	s   *store.Store
	mu  sync.Mutex
	now func() time.Time // replaced in tests to expire sessions

	creds *credCache
	// hashSlots bounds concurrent bcrypt comparisons (see Verify).
	hashSlots chan struct{}
	hashTime  *hashBudget // and their CPU time

	cacheMu   sync.RWMutex
	userCache map[string]User // by lower-case name; see loadUser
	cacheGen  uint64

	// adminDefault: the admin still has the well-known password, so it
	// must change it before anything else is served (ntopng's
	// change_password redirect). Read from the store at start, kept by
	// SetPassword.
	adminDefault atomic.Bool

	prefsMu sync.Mutex
	rows    map[string]int // page size per user (see RowsPerPage)
}

// New wraps s and makes sure the default admin/admin account exists.
func New(s *store.Store) (*Auth, error) {
	if s == nil {
		return nil, errors.New("auth: nil store")
	}
	a := &Auth{s: s, now: time.Now, creds: newCredCache(5*time.Minute, 4096), userCache: map[string]User{},
		hashSlots: make(chan struct{}, hashConcurrency()), hashTime: newHashBudget(), rows: map[string]int{}}
	if err := a.ensureAdmin(); err != nil {
		return nil, err
	}
	// The stored flag, not a bcrypt check: that costs seconds on a small
	// appliance CPU at every start. SetPassword keeps the flag.
	a.adminDefault.Store(!a.AdminPasswordChanged())
	return a, nil
}

// MustChangePassword tells that user is the admin still using the default
// password: ntopng serves such a login nothing but the password change.
func (a *Auth) MustChangePassword(user string) bool {
	return user == AdminUser && a.adminDefault.Load()
}

// DefaultPassword tells a password that may not be chosen for the admin.
func DefaultPassword(password string) bool { return password == defaultAdminPassword }

func (a *Auth) ensureAdmin() error {
	_, found, err := a.loadUser(AdminUser)
	if err != nil {
		return err
	}
	var created bool
	if _, err := a.s.Get(nsPrefs, prefUsersCreated, &created); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if found {
		if created {
			return nil
		}
		// A store from before the mark: its users exist, mark it now.
		return a.markUsersCreated()
	}
	if created || a.AdminPasswordChanged() {
		// The users were there and are gone (damage, a partial restore):
		// recreating admin/admin would hand the box to anyone.
		return ErrUsersLost
	}
	// As ntopng creates it: no language chosen and no allow_* flags
	// stored (administrators have every capability whatever the flags
	// say), so get/ntopng/users lists it as ntopng does.
	admin := User{
		Username: AdminUser,
		FullName: "ntopng Administrator",
		Group:    GroupAdministrator,
	}
	// The well-known password's hash is a constant: hashing it at the first
	// start (~70 ms of bcrypt, more on the appliance's CPU) bought nothing,
	// since anyone may compute it, and --disable-login never needs it.
	admin.PasswordHash = defaultAdminHash
	if err := admin.normalize(); err != nil {
		return fmt.Errorf("auth: create default admin: %w", err)
	}
	if err := a.addHashed(admin); err != nil && !errors.Is(err, ErrUserExists) {
		return fmt.Errorf("auth: create default admin: %w", err)
	}
	return a.markUsersCreated()
}

func (a *Auth) markUsersCreated() error {
	if err := a.s.Put(nsPrefs, prefUsersCreated, true); err != nil {
		return fmt.Errorf("auth: marking the users created: %w", err)
	}
	return nil
}

// randomHex returns 32 lowercase hex chars (128 bits) for tokens and ids.
func randomHex() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return short)
	return hex.EncodeToString(b[:])
}

// secretKey is the store key for a token or session id. Only the hash is
// stored so a copy of the database does not hand out live credentials; an
// unsalted hash is enough because the secrets are 128-bit random.
func secretKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// wellFormedSecret rejects junk before it costs a database lookup.
func wellFormedSecret(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
