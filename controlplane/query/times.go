package query

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// timeLayouts are the absolute formats goQuery accepts (pkg/query/time.go);
// zone-less ones are read in the clock's location.
var timeLayouts = []string{
	time.ANSIC,
	time.UnixDate,
	time.RubyDate,
	time.RFC822,
	time.RFC822Z,
	time.RFC850,
	time.RFC1123,
	time.RFC1123Z,
	time.RFC3339,
	time.RFC3339Nano,
	"2006-01-02 15:04:05 -0700 MST",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04 -0700",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02",
	"02.01.2006 15:04:05 -0700",
	"02.01.2006 15:04 -0700",
	"02.01.2006 15:04:05",
	"02.01.2006 15:04",
	"02.01.2006",
	"02.01.06 15:04:05 -0700",
	"02.01.06 15:04 -0700",
	"02.01.06 15:04:05",
	"02.01.06 15:04",
	"02.01.06",
	"2.1.2006 15:04",
	"2.1.06 15:04",
	"02/01/2006 15:04",
	"2 Jan 2006 15:04:05",
	"2 Jan 2006 15:04",
	"Jan 2 2006 15:04:05",
	"Jan 2 2006 15:04",
}

// ParseTime reads a First/Last value: "now", unix seconds, a relative time
// before now ("-4h", "-7d", "-1d12h", "-15d:04h:05m", "-30s") or one of
// timeLayouts.
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return time.Time{}, fmt.Errorf("empty time")
	case strings.EqualFold(s, "now"):
		return now, nil
	case s[0] == '-':
		d, err := parseRelative(s[1:])
		if err != nil {
			return time.Time{}, fmt.Errorf("relative time %q: %w", s, err)
		}
		return now.Add(-d), nil
	}
	if sec, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(sec, 0).In(now.Location()), nil
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, now.Location()); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: unknown format", s)
}

// maxRelative keeps relative times far from time.Duration's overflow.
const maxRelative = 100 * 365 * 24 * time.Hour

// parseRelative reads "15d:04h:05m" or "1d12h" (units d, h, m, s; goProbe
// has no month unit because months differ in length).
func parseRelative(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("no duration")
	}
	var total time.Duration
	for s != "" {
		if s[0] == ':' {
			s = s[1:]
			continue
		}
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, fmt.Errorf("want <number><unit>, got %q", s)
		}
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n > int64(maxRelative/time.Second) {
			return 0, fmt.Errorf("number %q out of range", s[:i])
		}
		var unit time.Duration
		switch s[i] {
		case 'd':
			unit = 24 * time.Hour
		case 'h':
			unit = time.Hour
		case 'm':
			unit = time.Minute
		case 's':
			unit = time.Second
		default:
			return 0, fmt.Errorf("unknown unit %q (want d, h, m or s)", s[i])
		}
		if time.Duration(n) > (maxRelative-total)/unit {
			return 0, fmt.Errorf("duration exceeds %v", maxRelative)
		}
		total += time.Duration(n) * unit
		s = s[i+1:]
	}
	return total, nil
}
