//go:build race

package snmp

// raceEnabled: the race detector slows everything several times, which
// makes timing measurements meaningless.
const raceEnabled = true
