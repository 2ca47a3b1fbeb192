package query

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	loc := time.FixedZone("X", 2*3600)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, loc)
	at := func(y int, mo time.Month, d, h, mi, s int) time.Time { return time.Date(y, mo, d, h, mi, s, 0, loc) }
	tests := []struct {
		in   string
		want time.Time
	}{
		{"now", now},
		{"1589741866", time.Unix(1589741866, 0)},
		{"-24h", now.Add(-24 * time.Hour)},
		{"-7d", now.Add(-7 * 24 * time.Hour)},
		{"-1d12h", now.Add(-36 * time.Hour)},
		{"-15d:04h:05m", now.Add(-(15*24*time.Hour + 4*time.Hour + 5*time.Minute))},
		{"-5m", now.Add(-5 * time.Minute)},
		{"-30s", now.Add(-30 * time.Second)},
		{"Wed Nov 25 09:00:00 2026", at(2026, 11, 25, 9, 0, 0)},
		{"2026-11-25T09:00:00Z", time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)},
		{"2026-11-25 09:30", at(2026, 11, 25, 9, 30, 0)},
		{"2026-11-25 09:30:05 +0000", time.Date(2026, 11, 25, 9, 30, 5, 0, time.UTC)},
		{"25.11.2026 09:30", at(2026, 11, 25, 9, 30, 0)},
		{"25.11.2026 09:30:05", at(2026, 11, 25, 9, 30, 5)},
		{"Wed, 25 Nov 2026 09:00:00 +0100", time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in, now)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("%q = %v, want %v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", "-", "-4", "-4y", "yesterday", "-99999999999999d", "2026-13-01", "-1h:x"} {
		if _, err := ParseTime(bad, now); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
