// Package infra is ntopng Pro's infrastructure view: a probe keeps a list
// of other probes (instances), polls each one's interface counters over
// their REST API and shows whether they answer, how fast, and what they see.
package infra

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Instance is one remote probe as configured.
type Instance struct {
	ID    string `json:"id"`
	Alias string `json:"alias"`
	URL   string `json:"url"`
	// Token is the remote probe's API token; kept in full for polling and
	// the configuration export, masked everywhere else (see MaskToken).
	Token string `json:"token"`
	// RTTThreshold (ms) and BandwidthThreshold (bps) are kept for the UI,
	// as ntopng does; the poller reports both measures next to them.
	RTTThreshold       float64 `json:"rtt_threshold"`
	BandwidthThreshold float64 `json:"bandwidth_threshold"`
}

// The reasons an instance or a check is refused; callers map them to
// ntopng's rc codes with errors.Is. They are wrapped with the detail.
var (
	ErrNotFound        = errors.New("no such infrastructure instance")
	ErrEmptyID         = errors.New("the instance id is empty")
	ErrEmptyAlias      = errors.New("the instance alias is empty")
	ErrEmptyURL        = errors.New("the instance url is empty")
	ErrEmptyToken      = errors.New("the instance token is empty")
	ErrBadURL          = errors.New("the instance url is not an http(s) url with a host")
	ErrBadThreshold    = errors.New("thresholds must be non-negative numbers")
	ErrSameAlias       = errors.New("an instance with this alias exists")
	ErrSameURL         = errors.New("an instance with this url exists")
	ErrSameToken       = errors.New("an instance with this token exists")
	ErrAlreadyExisting = errors.New("an instance with this url and token exists")

	ErrCheckFailed          = errors.New("the instance cannot be reached")
	ErrCheckNotFound        = errors.New("the instance answered 404")
	ErrCheckInvalidResponse = errors.New("the instance did not answer like ntopng")
	ErrCheckAuthFailed      = errors.New("the instance refused the token")
)

// normURL is how urls are compared and stored: no trailing slash, so
// "http://b:3000/" and "http://b:3000" are the same probe.
func normURL(u string) string { return strings.TrimRight(strings.TrimSpace(u), "/") }

// validate checks an instance on its own (not against the others).
func validate(in Instance) error {
	switch {
	case in.Alias == "":
		return ErrEmptyAlias
	case in.URL == "":
		return ErrEmptyURL
	case in.Token == "":
		return ErrEmptyToken
	case in.RTTThreshold < 0 || in.BandwidthThreshold < 0:
		return fmt.Errorf("%w: rtt %v, bandwidth %v", ErrBadThreshold, in.RTTThreshold, in.BandwidthThreshold)
	}
	return checkURL(in.URL)
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: %q", ErrBadURL, raw)
	}
	return nil
}

// clash reports what in shares with another instance of list (other
// than itself, by id).
func clash(list []Instance, in Instance) error {
	for _, o := range list {
		if o.ID == in.ID {
			continue
		}
		switch {
		case o.Alias == in.Alias:
			return fmt.Errorf("%w: %s (%s)", ErrSameAlias, o.Alias, o.ID)
		case o.URL == in.URL:
			return fmt.Errorf("%w: %s (%s)", ErrSameURL, o.URL, o.ID)
		case o.Token == in.Token:
			return fmt.Errorf("%w: instance %s", ErrSameToken, o.ID)
		}
	}
	return nil
}

// MaskToken shows only a token's last 4 characters: the list is readable
// by every administrator session and a full token is a login on the
// remote probe.
func MaskToken(tok string) string {
	if len(tok) <= 4 {
		return strings.Repeat("*", len(tok))
	}
	return strings.Repeat("*", len(tok)-4) + tok[len(tok)-4:]
}
