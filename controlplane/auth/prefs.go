package auth

import "fmt"

// DefaultRowsPerPage is ntopng's page size before a user chose one.
const DefaultRowsPerPage = 10

// rowsKey is where a user's page size is kept (ntopng's "rows_number").
func rowsKey(user string) string { return user + ".rows_number" }

// RowsPerPage is the user's page size: the last perPage they asked for,
// else DefaultRowsPerPage. Cached, so a list request costs no disk read.
func (a *Auth) RowsPerPage(user string) int {
	a.prefsMu.Lock()
	defer a.prefsMu.Unlock()
	if n, ok := a.rows[user]; ok {
		return n
	}
	n := DefaultRowsPerPage
	var stored int
	if found, err := a.s.Get(nsPrefs, rowsKey(user), &stored); err == nil && found && stored > 0 {
		n = stored
	}
	a.rows[user] = n
	return n
}

// SetRowsPerPage keeps the user's page size; setting the one it already
// has writes nothing.
func (a *Auth) SetRowsPerPage(user string, n int) error {
	a.prefsMu.Lock()
	defer a.prefsMu.Unlock()
	if cached, ok := a.rows[user]; ok && cached == n {
		return nil
	}
	a.rows[user] = n
	if err := a.s.Put(nsPrefs, rowsKey(user), n); err != nil {
		return fmt.Errorf("auth: storing %s's rows_number: %w", user, err)
	}
	return nil
}
