// Package readmetest runs the README's examples against `make run`'s probe,
// as a new user would after a fresh clone: every example must succeed and
// answer data.
//
// The examples are the README's code blocks whose info string is
// "sh example" (run while `make run` serves the demo) or "sh example
// stopped" (run after it stopped, e.g. reading its data directory). Each
// command of a block runs as written, with bash, from a directory where
// bin/ and out/ are `make run`'s, inside a network namespace of its own so
// that the README's ports (127.0.0.1:3000, 127.0.0.1:6060) are the probe's
// and nothing else's. The examples `make run` prints in its banner are run
// the same way against a first `make run`; the README's against a second
// one, which must start again from admin/admin (a clean demo state).
package readmetest
