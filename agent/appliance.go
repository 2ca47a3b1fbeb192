package agent

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/probe-appliance/probe/controlplane/rest"
	"github.com/probe-appliance/probe/firmware/appliance"
	"github.com/probe-appliance/probe/firmware/update"
)

// applianceHooks are the REST API's appliance operations, nil where c
// leaves them off: staging a signed firmware update (UpdateDir), the
// settings file (ApplianceConfig) and reboot.
type applianceHooks struct {
	stageUpdate func(rest.UpdateRequest) error
	get         func() (any, error)
	set         func([]byte) error
	reboot      func()
}

// newApplianceHooks builds them; stop ends Run with the request's error
// (ErrUpdateStaged, ErrRebootRequested) for the supervisor to act on.
func newApplianceHooks(ctx context.Context, c *config, log *slog.Logger, stop func(error)) applianceHooks {
	var h applianceHooks
	if c.UpdateDir != "" {
		var one sync.Mutex // one staging directory
		h.stageUpdate = func(u rest.UpdateRequest) error {
			one.Lock()
			defer one.Unlock()
			ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
			defer cancel()
			err := update.Stage(ctx, &http.Client{}, c.UpdateDir, c.trustedKeys,
				update.Part{URL: u.KernelURL, SHA256: u.KernelSHA256, Sig: u.KernelSig},
				update.Part{URL: u.InitrdURL, SHA256: u.InitrdSHA256, Sig: u.InitrdSig})
			if err != nil {
				log.Warn("firmware update refused", "err", err)
				return err
			}
			log.Warn("firmware update staged: stopping for the appliance to install it", "dir", c.UpdateDir)
			stop(ErrUpdateStaged)
			return nil
		}
	}
	if c.ApplianceConfig != "" {
		h.get = func() (any, error) {
			cfg, err := appliance.Read(c.ApplianceConfig)
			return cfg.Shown(), err
		}
		h.set = func(raw []byte) error {
			_, err := appliance.Save(c.ApplianceConfig, raw)
			if err == nil {
				log.Info("appliance settings saved: they apply at the next boot", "file", c.ApplianceConfig)
			}
			return err
		}
		h.reboot = func() { stop(ErrRebootRequested) }
	}
	return h
}
