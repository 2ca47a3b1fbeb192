package auth

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// User mirrors ntopng's user record. The JSON form is what REST handlers
// may return; the password hash is deliberately left out of it.
type User struct {
	Username             string `json:"username"`
	FullName             string `json:"full_name"`
	Group                string `json:"group"` // GroupAdministrator | GroupUnprivileged
	PasswordHash         string `json:"-"`     // bcrypt; filled on reads, ignored on writes
	Language             string `json:"language"`
	AllowedNets          string `json:"allowed_nets"`   // comma-separated CIDRs
	AllowedIfname        string `json:"allowed_ifname"` // "" = all interfaces
	AllowPcapDownload    bool   `json:"allow_pcap_download"`
	AllowHistoricalFlows bool   `json:"allow_historical_flows"`
	AllowAlerts          bool   `json:"allow_alerts"`
	HostPoolID           int    `json:"host_pool_id"`
}

// storedUser is the persisted form: User plus the hash User hides from JSON.
type storedUser struct {
	User
	PasswordHash string `json:"password_hash"`
}

const bcryptCost = 10

const maxUsernameLen = 64

func normalizeUsername(name string) (string, error) {
	name = strings.ToLower(name)
	if name == "" || len(name) > maxUsernameLen {
		return "", fmt.Errorf("%w: username must be 1-%d characters", ErrInvalid, maxUsernameLen)
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.ContainsRune("._-@", c)) {
			return "", fmt.Errorf("%w: username %q: only letters, digits and . _ - @ allowed", ErrInvalid, name)
		}
	}
	return name, nil
}

// normalize fills ntopng's defaults and validates the editable fields.
func (u *User) normalize() error {
	if u.Group == "" {
		u.Group = GroupUnprivileged
	}
	if u.Group != GroupAdministrator && u.Group != GroupUnprivileged {
		return fmt.Errorf("%w: group %q", ErrInvalid, u.Group)
	}
	if u.Username == AdminUser && u.Group != GroupAdministrator {
		return ErrProtectedUser
	}
	if strings.TrimSpace(u.AllowedNets) == "" {
		u.AllowedNets = DefaultAllowedNets
	}
	for _, n := range strings.Split(u.AllowedNets, ",") {
		n = strings.TrimSpace(n)
		if _, err := netip.ParsePrefix(n); err != nil {
			if _, err2 := netip.ParseAddr(n); err2 != nil {
				return fmt.Errorf("%w: allowed network %q", ErrInvalid, n)
			}
		}
	}
	return nil
}

func hashPassword(password string) (string, error) {
	if password == "" {
		return "", fmt.Errorf("%w: empty password", ErrInvalid)
	}
	// bcrypt only looks at 72 bytes; refusing longer ones avoids a
	// password that silently matches any string sharing its prefix.
	if len(password) > 72 {
		return "", fmt.Errorf("%w: password longer than 72 bytes", ErrInvalid)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return string(h), nil
}

// loadUser reads a user, from the in-memory copy when there is one: every
// authenticated request looks its user up, and Auth is the only writer of
// the users namespace (saveUser and deleteUserRecord keep the copy right).
func (a *Auth) loadUser(username string) (User, bool, error) {
	a.cacheMu.RLock()
	u, ok := a.userCache[username]
	gen := a.cacheGen
	a.cacheMu.RUnlock()
	if ok {
		return u, true, nil
	}
	u, found, err := a.readUser(username)
	if err == nil && found {
		a.cacheMu.Lock()
		// A write since our read may have made u stale: then don't keep it.
		if a.cacheGen == gen {
			a.userCache[username] = u
		}
		a.cacheMu.Unlock()
	}
	return u, found, err
}

// existingUser loads a user that must exist; op names the operation in
// the error. Callers hold a.mu.
func (a *Auth) existingUser(name, op string) (User, error) {
	u, found, err := a.loadUser(name)
	if err != nil {
		return User{}, fmt.Errorf("auth: %s %q: %w", op, name, err)
	}
	if !found {
		return User{}, fmt.Errorf("%w: %q", ErrNoSuchUser, name)
	}
	return u, nil
}

// forgetUser drops the cached copy after a write and bumps the generation,
// so a read that raced with the write cannot put the old copy back.
func (a *Auth) forgetUser(username string) {
	a.cacheMu.Lock()
	delete(a.userCache, username)
	a.cacheGen++
	a.cacheMu.Unlock()
}

func (a *Auth) readUser(username string) (User, bool, error) {
	var su storedUser
	found, err := a.s.Get(nsUsers, username, &su)
	if err != nil || !found {
		return User{}, false, err
	}
	u := su.User
	u.PasswordHash = su.PasswordHash
	return u, true, nil
}

func (a *Auth) saveUser(u User) error {
	defer a.forgetUser(u.Username)
	if err := a.s.Put(nsUsers, u.Username, storedUser{User: u, PasswordHash: u.PasswordHash}); err != nil {
		return fmt.Errorf("auth: save user %q: %w", u.Username, err)
	}
	return nil
}

// User looks a user up by (case-insensitive) name. Store errors read as
// "not found": callers use this on request paths where they could only
// refuse anyway.
func (a *Auth) User(username string) (User, bool) {
	name, err := normalizeUsername(username)
	if err != nil {
		return User{}, false
	}
	u, found, err := a.loadUser(name)
	return u, found && err == nil
}

// Users returns every user sorted by username.
func (a *Auth) Users() ([]User, error) {
	var out []User
	err := a.s.List(nsUsers, func(key string, raw []byte) error {
		var su storedUser
		if err := json.Unmarshal(raw, &su); err != nil {
			return fmt.Errorf("auth: decode user %q: %w", key, err)
		}
		u := su.User
		u.PasswordHash = su.PasswordHash
		out = append(out, u)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("auth: list users: %w", err)
	}
	return out, nil
}

// AddUser creates u with password; u.Username is lower-cased and
// u.PasswordHash ignored. Empty Group/AllowedNets get ntopng's defaults.
func (a *Auth) AddUser(u User, password string) error {
	name, err := normalizeUsername(u.Username)
	if err != nil {
		return err
	}
	u.Username = name
	if err := u.normalize(); err != nil {
		return err
	}
	// Hash before locking: bcrypt takes ~50 ms and must not stall logins.
	if u.PasswordHash, err = hashPassword(password); err != nil {
		return err
	}
	return a.addHashed(u)
}

// addHashed saves a new user u whose name is normalized and whose
// PasswordHash is set.
func (a *Auth) addHashed(u User) error {
	name := u.Username
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, found, err := a.loadUser(name); err != nil {
		return fmt.Errorf("auth: add user %q: %w", name, err)
	} else if found {
		return fmt.Errorf("%w: %q", ErrUserExists, name)
	}
	return a.saveUser(u)
}

// EditUser applies edit to a copy of the user and saves the result, so a
// REST handler can change only the fields a request carries. Changes to
// Username and PasswordHash are ignored (use SetPassword). An error from
// edit aborts without saving and is returned unchanged.
func (a *Auth) EditUser(username string, edit func(u *User) error) error {
	name, err := normalizeUsername(username)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u, err := a.existingUser(name, "edit user")
	if err != nil {
		return err
	}
	hash := u.PasswordHash
	if err := edit(&u); err != nil {
		return err
	}
	u.Username, u.PasswordHash = name, hash
	if err := u.normalize(); err != nil {
		return err
	}
	return a.saveUser(u)
}

// DeleteUser removes a user with its API token and sessions. The admin
// user is protected (ErrProtectedUser).
func (a *Auth) DeleteUser(username string) error {
	name, err := normalizeUsername(username)
	if err != nil {
		return err
	}
	if name == AdminUser {
		return ErrProtectedUser
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.existingUser(name, "delete user"); err != nil {
		return err
	}
	// Credentials go first: if this fails half-way the user still exists
	// and a retry finishes the job, rather than leaving live sessions that
	// a later user of the same name would inherit.
	if err := a.deleteSessionsOf(name); err != nil {
		return err
	}
	if err := a.deleteTokenOf(name); err != nil {
		return err
	}
	defer a.forgetUser(name)
	if err := a.s.Delete(nsUsers, name); err != nil {
		return fmt.Errorf("auth: delete user %q: %w", name, err)
	}
	return nil
}
