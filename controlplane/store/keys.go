package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Key layout. The first byte separates the key spaces so that a prefix scan
// of one never walks another:
//
//	'k' ns 0x00 key                      config record (JSON value)
//	'f' ifid(2) block(8) seq(8)          chunk of flow records (binary value)
//	'b' ifid(2) tstamp(8) id(8)          one alert (see alerts.go)
//	'a' ifid(2) tstamp(8) id(8)          an alert of an older build (JSON), moved to 'b' at open
//	'm' name                             store metadata
//	't' series time(8)                   one time-series point (see timeseries.go)
//
// Integers are big-endian so byte order equals numeric order; the block start
// has its sign bit flipped so negative times still sort before positive ones.
const (
	prefixKV    = 'k'
	prefixFlow  = 'f'
	prefixMeta  = 'm'
	prefixAlert = 'b'
	// prefixAlertJSON holds the alerts of builds that stored them as JSON
	// only. This build writes a binary record older builds cannot decode,
	// so it keeps its alerts under another prefix: a build started after a
	// slot fallback sees none of them instead of failing on them.
	prefixAlertJSON = 'a'
)

const flowKeyLen = 1 + 2 + 8 + 8

func metaKey(name string) []byte { return append([]byte{prefixMeta}, name...) }

func nsPrefix(ns string) ([]byte, error) {
	if ns == "" {
		return nil, errors.New("store: empty namespace")
	}
	if strings.IndexByte(ns, 0) >= 0 {
		return nil, fmt.Errorf("store: namespace %q contains NUL", ns)
	}
	p := make([]byte, 0, len(ns)+2)
	p = append(p, prefixKV)
	p = append(p, ns...)
	return append(p, 0), nil
}

func kvKey(ns, key string) ([]byte, error) {
	p, err := nsPrefix(ns)
	if err != nil {
		return nil, err
	}
	return append(p, key...), nil
}

func sortableInt64(v int64) uint64 { return uint64(v) ^ (1 << 63) }

func flowIfPrefix(ifid uint16) []byte {
	return binary.BigEndian.AppendUint16([]byte{prefixFlow}, ifid)
}

// flowBlockPrefix is also the smallest key of the block, i.e. the seek target.
func flowBlockPrefix(ifid uint16, block int64) []byte {
	return binary.BigEndian.AppendUint64(flowIfPrefix(ifid), sortableInt64(block))
}

func flowKey(ifid uint16, block int64, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(flowBlockPrefix(ifid, block), seq)
}

// flowKeyBlock extracts the block start; ok is false for a malformed key.
func flowKeyBlock(k []byte) (block int64, ok bool) {
	if len(k) != flowKeyLen || k[0] != prefixFlow {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(k[3:11]) ^ (1 << 63)), true
}
