// Package badinput marks errors that are the requester's fault (a setting
// that does not validate, a download whose checksum is wrong), so that an
// API layer answers "invalid arguments" for them and "internal error" for
// everything else.
package badinput

import (
	"errors"
	"fmt"
)

// Error wraps an error that the request caused.
type Error struct{ Err error }

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Wrap marks err (nil stays nil).
func Wrap(err error) error {
	if err == nil {
		return nil
	}
	return &Error{err}
}

// Errorf is fmt.Errorf, marked.
func Errorf(format string, a ...any) error { return &Error{fmt.Errorf(format, a...)} }

// Is reports whether err, or one it wraps, is marked.
func Is(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
