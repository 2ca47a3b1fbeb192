package rest

import "encoding/json"

// Typed answers: each REST answer is a struct whose json tags are ntopng's
// field names. encoding/json writes struct fields in declaration order and
// map keys sorted, so the structs that replace what were maps declare
// their fields in sorted key order (byte order: upper case first); the
// golden tests (testdata/golden) hold the bytes the maps produced.
// omitempty is used only where the map left the key out exactly when the
// value is zero; a key that was present with a zero value is a pointer.

// luaObject is a JSON object with keys only known at run time that
// encodes as [] when empty, as a Lua table does, like obj.
type luaObject[V any] map[string]V

// MarshalJSON implements json.Marshaler (json.Marshal, which escapes
// HTML, as obj's does).
func (o luaObject[V]) MarshalJSON() ([]byte, error) {
	if len(o) == 0 {
		return emptyRsp, nil
	}
	return json.Marshal(map[string]V(o))
}

// luaTable is luaObject whose values are written as the answer's other
// fields are (no HTML escaping).
type luaTable[V any] map[string]V

// MarshalJSON implements json.Marshaler.
func (t luaTable[V]) MarshalJSON() ([]byte, error) {
	if len(t) == 0 {
		return emptyRsp, nil
	}
	return marshalRaw(map[string]V(t))
}

// sortEcho is the list answers' "sort" (get/host/active, get/flow/active):
// the column and order asked, [[]] when none was.
type sortEcho [][]string

func sortEchoOf(col, order string) sortEcho { return sortEcho{{col, order}} }

var noSortEcho = sortEcho{{}}
