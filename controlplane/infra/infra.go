package infra

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/probe-appliance/probe/controlplane/confdoc"
	"github.com/probe-appliance/probe/controlplane/store"
)

// The instance list is one configuration document (confdoc).
const (
	instancesKey     = "instances"
	instancesVersion = 1
)

// Options tune polling; zero values are the defaults.
type Options struct {
	Interval time.Duration // between polls of an instance; default 10 s
	// Timeout bounds one request (poll or check); default 5 s, and never
	// more than Interval, so a dead instance is at most one poll behind.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Infra is the persisted instance list and one poller per instance.
type Infra struct {
	doc    *confdoc.Doc[[]Instance]
	opts   Options
	client *http.Client
	log    *slog.Logger

	mu      sync.Mutex // pollers, states and applied
	applied []Instance // what the pollers run (the last stored list)
	pollers map[string]context.CancelFunc
	states  map[string]State
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New loads the stored instances and starts polling them.
func New(st *store.Store, opts Options) (*Infra, error) {
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	opts.Timeout = min(opts.Timeout, opts.Interval)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	x := &Infra{
		opts: opts, log: opts.Logger,
		// No redirects followed: ntopng's answer to a bad token is a 302
		// to its login page, which check has to see as such.
		client: &http.Client{
			Timeout:       opts.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		pollers: map[string]context.CancelFunc{},
		states:  map[string]State{},
		ctx:     ctx, cancel: cancel,
	}
	x.doc = confdoc.New(st, store.NSInfrastructure, instancesKey, confdoc.Options[[]Instance]{
		Version: instancesVersion, Apply: x.apply,
	})
	list, err := x.load()
	if err != nil {
		cancel()
		return nil, err
	}
	return x, x.apply(list)
}

// Close stops every poller and waits for them.
func (x *Infra) Close() {
	x.cancel()
	x.wg.Wait()
}

func (x *Infra) load() ([]Instance, error) {
	out, err := x.doc.Load()
	if err != nil {
		return nil, fmt.Errorf("loading infrastructure instances: %w", err)
	}
	return out, nil
}

// apply restarts the pollers of what changed since the last list.
func (x *Infra) apply(next []Instance) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.sync(x.applied, next)
	x.applied = next
	return nil
}

// Instances is the configured list, tokens in full.
func (x *Infra) Instances() ([]Instance, error) { return x.load() }

// State is an instance's last poll.
func (x *Infra) State(id string) State {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.states[id]
}

// update edits the stored list (confdoc: one change at a time), stores
// it if fn succeeds and restarts the pollers of what changed.
func (x *Infra) update(fn func(list *[]Instance) error) error {
	return x.doc.Update(func(cur []Instance) ([]Instance, error) {
		if err := fn(&cur); err != nil {
			return nil, err
		}
		return cur, nil
	})
}

// nextID is one more than the largest numeric id in use.
func nextID(list []Instance) string {
	n := 0
	for _, o := range list {
		if v, err := strconv.Atoi(o.ID); err == nil {
			n = max(n, v)
		}
	}
	return strconv.Itoa(n + 1)
}

// Add validates in against the others, gives it an id and stores it.
func (x *Infra) Add(in Instance) (Instance, error) {
	in.URL = normURL(in.URL)
	if err := validate(in); err != nil {
		return in, err
	}
	err := x.update(func(list *[]Instance) error {
		in.ID = nextID(*list)
		if err := clash(*list, in); err != nil {
			return err
		}
		*list = append(*list, in)
		return nil
	})
	return in, err
}

// Edit replaces the instance with in's id.
func (x *Infra) Edit(in Instance) (Instance, error) {
	if in.ID == "" {
		return in, ErrEmptyID
	}
	in.URL = normURL(in.URL)
	err := x.update(func(list *[]Instance) error {
		i := indexOf(*list, in.ID)
		if i < 0 {
			return fmt.Errorf("%w: %s", ErrNotFound, in.ID)
		}
		if err := validate(in); err != nil {
			return err
		}
		if err := clash(*list, in); err != nil {
			return err
		}
		(*list)[i] = in
		return nil
	})
	return in, err
}

// Delete removes an instance and stops its poller.
func (x *Infra) Delete(id string) error {
	if id == "" {
		return ErrEmptyID
	}
	return x.update(func(list *[]Instance) error {
		i := indexOf(*list, id)
		if i < 0 {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		*list = append((*list)[:i], (*list)[i+1:]...)
		return nil
	})
}

// Get returns one instance.
func (x *Infra) Get(id string) (Instance, error) {
	list, err := x.Instances()
	if err != nil {
		return Instance{}, err
	}
	if i := indexOf(list, id); i >= 0 {
		return list[i], nil
	}
	return Instance{}, fmt.Errorf("%w: %s", ErrNotFound, id)
}

func indexOf(list []Instance, id string) int {
	for i, o := range list {
		if o.ID == id {
			return i
		}
	}
	return -1
}

// Import adds the instances whose url is not configured yet (with fresh
// ids); those whose url, alias or token is taken are kept as they are and
// reported as partial.
func (x *Infra) Import(in []Instance) (partial bool, err error) {
	for _, o := range in {
		o.URL = normURL(o.URL)
		if err := validate(o); err != nil {
			return false, fmt.Errorf("instance %q: %w", o.Alias, err)
		}
	}
	err = x.update(func(list *[]Instance) error {
		for _, o := range in {
			o.URL = normURL(o.URL)
			o.ID = nextID(*list)
			if clash(*list, o) != nil {
				partial = true
				continue
			}
			*list = append(*list, o)
		}
		return nil
	})
	return partial, err
}

// Reset removes every instance.
func (x *Infra) Reset() error {
	return x.update(func(list *[]Instance) error { *list = nil; return nil })
}

// Check asks url once, the way the poller would, before an instance is
// added: ErrAlreadyExisting if it is configured with that token, else nil
// or one of the ErrCheck* reasons.
func (x *Infra) Check(ctx context.Context, rawURL, token string) (Summary, error) {
	switch {
	case rawURL == "":
		return Summary{}, ErrEmptyURL
	case token == "":
		return Summary{}, ErrEmptyToken
	}
	u := normURL(rawURL)
	if err := checkURL(u); err != nil {
		return Summary{}, err
	}
	list, err := x.Instances()
	if err != nil {
		return Summary{}, err
	}
	for _, o := range list {
		if o.URL == u && o.Token == token {
			return Summary{}, fmt.Errorf("%w: instance %s", ErrAlreadyExisting, o.ID)
		}
	}
	s, _, err := fetch(ctx, x.client, u, token)
	return s, err
}
