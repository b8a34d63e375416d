package main

import (
	"flag"
	"strings"

	"github.com/counterspy/counterspy/internal/server"
)

// addClusterFlags adds the flags that make serve one node of several over
// one ClickHouse database (docs/scaling.md).
func addClusterFlags(fs *flag.FlagSet, cfg *server.Config) {
	fs.Func("cluster-peers", "comma-separated `URLs` (http://host:port of each node's HTTP API, this one included, the same list on every node): "+
		"share one --store clickhouse://... with these nodes; each trace's segments are forwarded to one owner node so its summaries and graph counters stay exact (docs/scaling.md)",
		func(v string) error {
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					cfg.Cluster.Peers = append(cfg.Cluster.Peers, p)
				}
			}
			return nil
		})
	fs.StringVar(&cfg.Cluster.Self, "cluster-self", "", "this node's `URL` among --cluster-peers (default http:// + the HTTP address)")
	fs.StringVar(&cfg.Cluster.Token, "cluster-token", "", "write `token` of the peers' --auth-file, sent with the segments forwarded to them (better set as COUNTERSPY_CLUSTER_TOKEN)")
}
