package server_test

import "github.com/counterspy/counterspy/internal/server/servertest"

// The server's test helpers (package servertest).
var (
	startServer        = servertest.Start
	startOTLPServer    = servertest.StartOTLP
	tracerProvider     = servertest.TracerProvider
	xrayClient         = servertest.XRayClient
	newRelay           = servertest.NewRelay
	waitFor            = servertest.WaitFor
	parseEntity        = servertest.ParseEntity
	walk               = servertest.Walk
	createSamplingRule = servertest.CreateSamplingRule
	band               = servertest.Band
)

type entity = servertest.Entity
