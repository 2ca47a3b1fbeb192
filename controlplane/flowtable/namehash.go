package flowtable

import "hash/maphash"

// nameHashBytes is nameHash of a name still in a buffer (maphash gives
// bytes and a string of the same content the same hash), so a name that is
// only counted is never made a string.
func nameHashBytes(name []byte) uint64 { return maphash.Bytes(nameSeed, name) }
