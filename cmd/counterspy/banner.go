package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/counterspy/counterspy/internal/server"
)

// printBanner says what listens where, where the data goes, for how long,
// and whether demo data is being fed: what a newcomer needs to point a
// client at the server.
func printBanner(w io.Writer, srv *server.Server, demo bool) {
	fmt.Fprintln(w, currentVersion())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range srv.Listeners() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", l.Name, l.Addr, l.Hint)
	}
	fmt.Fprintf(tw, "  data\t%s\tretention %s\n", srv.DataDir(), humanDuration(srv.Retention()))
	if demo {
		fmt.Fprintf(tw, "  demo\tfeeding the seed scenario\tone S3 upload every %s, the last hour backfilled\n", demoUploadInterval)
	}
	tw.Flush()
	env := "counterspy env"
	if a := srv.UDPAddr(); a != server.DefaultAddr {
		env += " --addr " + a
	}
	fmt.Fprintf(w, "Point clients here: eval \"$(%s)\"\n", env)
}

// humanDuration prints whole days as days ("30d") and the rest as Go does,
// without trailing zero units ("1h30m").
func humanDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	s = strings.TrimSuffix(s, "0m")
	if s == "" {
		return "0s"
	}
	return s
}
