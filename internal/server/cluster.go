package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/counterspy/counterspy/internal/cluster"
	"github.com/counterspy/counterspy/internal/groups"
	"github.com/counterspy/counterspy/internal/segment"
)

// ClusterConfig makes this server one of several nodes sharing one store
// (internal/cluster, docs/scaling.md).
type ClusterConfig struct {
	// Peers are every node's X-Ray API base URL (http://HOST:PORT), the
	// same list on every node; empty runs alone.
	Peers []string
	// Self is this node's URL among Peers (default http:// + the HTTP
	// address, which then needs a fixed port).
	Self string
	// Token is a write token of the peers' --auth-file, sent with every
	// forward (needed when they require authentication).
	Token string
	// ReloadInterval is how often a node reloads the groups and sampling
	// rules the others may have changed in the shared store (default 5 s).
	ReloadInterval time.Duration
}

// sink is where receivers hand decoded segments: the ingest pipeline, or a
// cluster router in front of it.
type sink interface {
	Submit(segs []segment.Segment) bool
	SubmitWait(ctx context.Context, segs []segment.Segment) error
	Shed(bytes, segments int) bool
}

// startRouter puts a cluster router in front of the pipeline when the
// server is one of several nodes.
func (s *Server) startRouter(httpAddr string) error {
	s.sink = s.pipeline
	c := s.cfg.Cluster
	if len(c.Peers) == 0 {
		return nil
	}
	self := c.Self
	if self == "" {
		_, port, err := net.SplitHostPort(httpAddr)
		if err != nil || port == "0" {
			return fmt.Errorf("cluster: this node's URL among the peers is needed (its HTTP address %q has no fixed port)", httpAddr)
		}
		self = "http://" + httpAddr
	}
	r, err := cluster.New(s.pipeline, cluster.Options{Self: self, Peers: c.Peers, Token: c.Token, Logger: s.log}, s.metrics)
	if err != nil {
		return err
	}
	s.router, s.sink = r, r
	return nil
}

// reloadShared keeps a node's cached groups and sampling rules current with
// the changes other nodes make in the shared store (group filters pick the
// graph counters a trace counts in, and answer group.name; the rules are
// what SDKs sample by).
func (s *Server) reloadShared(ctx context.Context, reg *groups.Registry) {
	if s.router == nil {
		return
	}
	every := s.cfg.Cluster.ReloadInterval
	if every <= 0 {
		every = 5 * time.Second
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := reg.Reload(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("reloading groups from the shared store failed", "err", err)
				}
				if err := s.api.ReloadShared(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("reloading sampling rules or insights from the shared store failed", "err", err)
				}
			}
		}
	}()
}

// clusterHandler marks forwarded requests when the server is a node.
func (s *Server) clusterHandler(h http.Handler) http.Handler {
	if s.router == nil {
		return h
	}
	return cluster.Handler(h)
}

// evaluatesInsights gives each group's insights to one node (the
// rendezvous owner of the group's ARN), so that nodes sharing a store do
// not each open their own insight for one anomaly; nil alone (every
// group).
func (s *Server) evaluatesInsights() func(groupARN string) bool {
	if s.router == nil {
		return nil
	}
	return func(arn string) bool { return s.router.Leads("insights/" + arn) }
}
