package flowcodec

import "encoding/binary"

// The V1 (row-wise) encoder: stores written before V2 hold these chunks.

// appendRecordV1 encodes r relative to block; records are self-delimiting.
func appendRecordV1(b []byte, r *Record, block int64) []byte {
	flags := recordFlags(r) // V2 kept V1's flags byte
	b = append(b, flags, r.Proto)
	b = appendAddr(b, r.Client)
	b = appendAddr(b, r.Server)
	b = binary.BigEndian.AppendUint16(b, r.ClientPort)
	b = binary.BigEndian.AppendUint16(b, r.ServerPort)
	b = binary.AppendUvarint(b, r.PktsC2S)
	b = binary.AppendUvarint(b, r.PktsS2C)
	b = binary.AppendUvarint(b, r.BytesC2S)
	b = binary.AppendUvarint(b, r.BytesS2C)
	// Wrapping subtraction is fine: decode adds it back modulo 2^64.
	b = binary.AppendVarint(b, r.LastSeen-block)
	b = binary.AppendVarint(b, r.LastSeen-r.FirstSeen)
	if flags&flagVLAN != 0 {
		b = binary.AppendUvarint(b, uint64(r.VLAN))
	}
	if flags&flagTCPFlags != 0 {
		b = append(b, r.TCPFlagsC2S, r.TCPFlagsS2C)
	}
	if flags&flagL7 != 0 {
		b = binary.AppendUvarint(b, uint64(r.L7))
	}
	return b
}

// appendChunkV1 is the V1 encoder, kept to prove old stores still read.
func appendChunkV1(b []byte, recs []*Record, block int64) []byte {
	b = append(b, V1)
	b = binary.AppendUvarint(b, uint64(len(recs)))
	for _, r := range recs {
		b = appendRecordV1(b, r, block)
	}
	return b
}
