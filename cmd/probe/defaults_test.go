package main

import "github.com/probe-appliance/probe/agent"

// defaultFlushInterval is the probe's --flush-interval default, which the
// end-to-end tests wait for.
var defaultFlushInterval = agent.DefaultConfig().FlushInterval
