package store

import (
	"io"
	"log/slog"
	"testing"

	"github.com/dgraph-io/badger/v4/options"
)

// TestBadgerOptions holds what badgerOptions gives Badger, as literals: a
// change of sizing, of a With call or of Badger's own defaults (an
// upgrade) fails here instead of silently changing the appliance's
// memory, disk use or durability.
func TestBadgerOptions(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	const mb = 1 << 20
	type want struct {
		memTable, vlogFile, valueThreshold, baseTable, baseLevel int64
	}
	for _, c := range []struct {
		name      string
		partition int64 // file system size; 0: defaultSizing
		inMemory  bool
		w         want
	}{
		{"default", 0, false, want{16 * mb, 16 * mb, 1 * mb, 2 * mb, 10 * mb}},
		{"in memory", 0, true, want{16 * mb, 16 * mb, 1 * mb, 2 * mb, 10 * mb}},
		{"64 GiB partition", 64 << 30, false, want{16 * mb, 16 * mb, 1 * mb, 2 * mb, 10 * mb}},
		{"256 MiB partition", 256 * mb, false, want{4 * mb, 4 * mb, 512 << 10, 2 * mb, 10 * mb}},
		{"100 MiB partition", 100 * mb, false, want{1 * mb, 1 * mb, 128 << 10, 1 * mb, 4 * mb}},
		{"16 MiB partition", 16 * mb, false, want{1 * mb, 1 * mb, 128 << 10, 1 * mb, 4 * mb}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sz := defaultSizing
			if c.partition > 0 {
				sz = sizingFor(c.partition)
			}
			bo := badgerOptions(t.TempDir(), Options{InMemory: c.inMemory}, log, sz)
			for _, o := range []struct {
				name      string
				got, want any
			}{
				{"InMemory", bo.InMemory, c.inMemory},
				{"MemTableSize", bo.MemTableSize, c.w.memTable},
				{"ValueLogFileSize", bo.ValueLogFileSize, c.w.vlogFile},
				{"ValueThreshold", bo.ValueThreshold, c.w.valueThreshold},
				{"BaseTableSize", bo.BaseTableSize, c.w.baseTable},
				{"BaseLevelSize", bo.BaseLevelSize, c.w.baseLevel},
				{"NumMemtables", bo.NumMemtables, 2},
				{"NumLevelZeroTables", bo.NumLevelZeroTables, 4},
				{"NumLevelZeroTablesStall", bo.NumLevelZeroTablesStall, 8},
				{"BlockSize", bo.BlockSize, 4096},
				{"BloomFalsePositive", bo.BloomFalsePositive, 0.01},
				{"Compression", bo.Compression, options.Snappy},
				{"BlockCacheSize", bo.BlockCacheSize, int64(16 * mb)},
				{"IndexCacheSize", bo.IndexCacheSize, int64(0)},
				{"MaxLevels", bo.MaxLevels, 7},
				{"TableSizeMultiplier", bo.TableSizeMultiplier, 2},
				{"LevelSizeMultiplier", bo.LevelSizeMultiplier, 10},
				{"NumCompactors", bo.NumCompactors, 2},
				{"NumGoroutines", bo.NumGoroutines, 2},
				{"NumVersionsToKeep", bo.NumVersionsToKeep, 1},
				{"MetricsEnabled", bo.MetricsEnabled, false},
				{"SyncWrites", bo.SyncWrites, true},
				{"ChecksumVerificationMode", bo.ChecksumVerificationMode, options.OnBlockRead},
				{"VerifyValueChecksum", bo.VerifyValueChecksum, true},
				{"DetectConflicts", bo.DetectConflicts, false},
			} {
				if o.got != o.want {
					t.Errorf("%s = %v, want %v", o.name, o.got, o.want)
				}
			}
		})
	}
}
