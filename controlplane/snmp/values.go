package snmp

import (
	"encoding/hex"
	"strconv"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
)

// Var is one variable binding of a trap, its value as text.
type Var struct {
	OID   string `json:"oid"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// pduUint reads an integer-typed value; exception values (noSuchObject…)
// and other types are not numbers.
func pduUint(p gosnmp.SnmpPDU) (uint64, bool) {
	switch p.Type {
	case gosnmp.Integer, gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks,
		gosnmp.Counter64, gosnmp.Uinteger32:
	default:
		return 0, false
	}
	switch v := p.Value.(type) {
	case int:
		if v < 0 {
			return 0, false
		}
		return uint64(v), true
	case uint:
		return uint64(v), true
	case uint32:
		return uint64(v), true
	case uint64:
		return v, true
	case int64:
		if v < 0 {
			return 0, false
		}
		return uint64(v), true
	}
	return 0, false
}

func pduInt(p gosnmp.SnmpPDU) (int, bool) {
	if p.Type == gosnmp.Integer {
		if v, ok := p.Value.(int); ok {
			return v, true
		}
	}
	u, ok := pduUint(p)
	return int(u), ok
}

// pduString reads an OCTET STRING or an OID as text.
func pduString(p gosnmp.SnmpPDU) (string, bool) {
	switch v := p.Value.(type) {
	case []byte:
		return string(v), true
	case string:
		return v, true
	}
	return "", false
}

// isException is true for the v2 "no value here" markers.
func isException(p gosnmp.SnmpPDU) bool {
	return p.Type == gosnmp.NoSuchObject || p.Type == gosnmp.NoSuchInstance ||
		p.Type == gosnmp.EndOfMibView || p.Type == gosnmp.Null
}

// formatVar renders a binding the way snmptrapd's log shows values:
// printable strings as they are, other octets in hex.
func formatVar(p gosnmp.SnmpPDU) Var {
	v := Var{OID: p.Name, Type: typeName(p.Type)}
	switch val := p.Value.(type) {
	case []byte:
		if printable(val) {
			v.Value = string(val)
		} else {
			v.Value = hex.EncodeToString(val)
		}
	case string:
		v.Value = val
	case int:
		v.Value = strconv.Itoa(val)
	case nil:
	default:
		if u, ok := pduUint(p); ok {
			v.Value = strconv.FormatUint(u, 10)
		} else if f, ok := val.(float32); ok {
			v.Value = strconv.FormatFloat(float64(f), 'g', -1, 32)
		} else if f, ok := val.(float64); ok {
			v.Value = strconv.FormatFloat(f, 'g', -1, 64)
		}
	}
	return v
}

func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}

func typeName(t gosnmp.Asn1BER) string {
	switch t {
	case gosnmp.Integer:
		return "Integer"
	case gosnmp.OctetString:
		return "OctetString"
	case gosnmp.ObjectIdentifier:
		return "ObjectIdentifier"
	case gosnmp.IPAddress:
		return "IpAddress"
	case gosnmp.Counter32:
		return "Counter32"
	case gosnmp.Gauge32:
		return "Gauge32"
	case gosnmp.TimeTicks:
		return "TimeTicks"
	case gosnmp.Counter64:
		return "Counter64"
	case gosnmp.Uinteger32:
		return "Unsigned32"
	case gosnmp.Opaque, gosnmp.OpaqueFloat, gosnmp.OpaqueDouble:
		return "Opaque"
	case gosnmp.BitString:
		return "BitString"
	case gosnmp.Null:
		return "Null"
	case gosnmp.NoSuchObject:
		return "noSuchObject"
	case gosnmp.NoSuchInstance:
		return "noSuchInstance"
	case gosnmp.EndOfMibView:
		return "endOfMibView"
	}
	return t.String()
}
