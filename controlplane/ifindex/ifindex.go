// Package ifindex is the one numbering of the probe's capture interfaces
// that other systems see: the ifIndex of the probe's own SNMP agent
// (IF-MIB ifTable/ifXTable rows) and the ingressInterface of the flow
// records it exports over IPFIX and NetFlow v9. A collector can then join
// exported flows to the ifName and counters an SNMP poller reads from the
// same probe.
//
// The ifIndex is the interface's store id plus one. The store id (the
// interface's entry in the store's registry, by name) is the id flow
// records carry, and it is stable: an interface keeps it across restarts,
// a changed -i order and --config reloads, as RFC 2863 asks of an ifIndex
// ("SHOULD remain constant ... from one re-initialization to the next").
// Plus one because ifIndex 0 is not a valid row (IF-MIB: 1..2147483647)
// and collectors read interface 0 as "unknown". The REST API's ifid is
// another number (the -i position, 0-based); on a store that has seen no
// other interfaces the two agree as ifIndex = ifid + 1.
package ifindex

// Of is the ifIndex of the interface whose store id is storeID: 1 to
// 65536, within IF-MIB's range and the 32 bits IPFIX and NetFlow v9 give
// ingressInterface.
func Of(storeID uint16) uint32 { return uint32(storeID) + 1 }
