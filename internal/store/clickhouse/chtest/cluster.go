package chtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// StartCluster starts n servers for t, each configured with a cluster
// named name whose shards are the n servers (one replica each), so that a
// Distributed table on any of them spans all. Killed when t ends.
func StartCluster(t testing.TB, name string, n int) []*Server {
	t.Helper()
	bin := Binary(t)
	type ports struct{ http, tcp int }
	ps := make([]ports, n)
	for i := range ps {
		var err error
		if ps[i].http, err = freePort(); err != nil {
			t.Fatal(err)
		}
		if ps[i].tcp, err = freePort(); err != nil {
			t.Fatal(err)
		}
	}
	// remote_servers as ClickHouse 18.16 reads it (the server settings
	// documentation, "remote_servers"): one <shard> per server.
	var b strings.Builder
	fmt.Fprintf(&b, "  <remote_servers><%s>", name)
	for _, p := range ps {
		fmt.Fprintf(&b, "<shard><replica><host>127.0.0.1</host><port>%d</port></replica></shard>", p.tcp)
	}
	fmt.Fprintf(&b, "</%s></remote_servers>\n", name)
	dir, err := os.MkdirTemp("", "counterspy-chcluster-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	servers := make([]*Server, n)
	for i, p := range ps {
		s, err := start(bin, filepath.Join(dir, fmt.Sprint(i)), p.http, p.tcp, b.String())
		if err != nil {
			t.Fatal(err)
		}
		// Killed, not stopped: a server with Distributed tables takes
		// about 10 s to shut down, and a test's data need not survive.
		t.Cleanup(s.Kill)
		servers[i] = s
	}
	return servers
}
