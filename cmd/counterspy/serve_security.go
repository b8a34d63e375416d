package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/counterspy/counterspy/internal/auth"
	"github.com/counterspy/counterspy/internal/server"
)

// addSecurityFlags adds serve's flags of who gets in (docs/security-auth.md).
func addSecurityFlags(fs *flag.FlagSet, cfg *server.Config) {
	fs.StringVar(&cfg.AuthFile, "auth-file", "",
		"`file` of principals, one a line: ACCESS_KEY_ID SECRET_ACCESS_KEY [read|write], or token TOKEN [read|write]; every API request must then be SigV4-signed with one of the keys (or carry Authorization: Bearer TOKEN), and the console signs in through the URL printed at start")
	fs.BoolVar(&cfg.InsecureNoAuth, "insecure-no-auth", false,
		"listen on an address other machines can reach (such as 0.0.0.0) without an auth file or --udp-allow: anyone who can reach the port can read and write every trace")
	fs.Func("udp-allow", "comma-separated `networks` (CIDR, or single addresses) UDP segments are accepted from, besides loopback; others are dropped and counted (reason SourceNotAllowed in /metrics)", func(v string) error {
		p, err := server.ParseCIDRs(v)
		cfg.UDPAllow = p
		return err
	})
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM certificate `file` (with its chain) to serve the HTTP API over TLS; reloaded when it changes")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "PEM private key `file` of -tls-cert; reloaded when it changes")
}

// protectLambda applies the listener rule to `counterspy lambda`'s Invoke
// API: on a non-loopback address it needs an auth file (then every request
// is checked like serve's) or --insecure-no-auth. It returns what wraps the
// API's handler.
func protectLambda(addr, authFile string, insecure bool, log *slog.Logger) (func(http.Handler) http.Handler, error) {
	var keys *auth.Keys
	if authFile != "" {
		k, err := auth.LoadKeys(authFile)
		if err != nil {
			return nil, err
		}
		keys = k
	}
	exposed, err := auth.CheckListeners([]auth.Listener{{Name: "Lambda Invoke API", Addr: addr, Protected: keys != nil}}, insecure)
	if err != nil {
		return nil, err
	}
	for _, l := range exposed {
		log.Warn("--insecure-no-auth: listening where other machines can reach it, without authentication", "listener", l.Name, "addr", l.Addr)
	}
	if keys == nil {
		return func(h http.Handler) http.Handler { return h }, nil
	}
	a := auth.New(auth.Options{Keys: keys, Logger: log, MaxBodyBytes: 6 << 20})
	return func(h http.Handler) http.Handler {
		return a.MiddlewareWith(h, func(r *http.Request) bool { return r.Method == http.MethodGet && r.URL.Path == "/healthz" })
	}, nil
}

// clientCredentials are what the query commands sign with: the
// environment's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when set (a
// server with an auth file checks them), as the AWS CLI reads them, dummy
// ones otherwise (a server without one accepts any).
func clientCredentials() aws.CredentialsProvider {
	if c, ok := auth.EnvCredentials(); ok {
		return credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	}
	return credentials.NewStaticCredentialsProvider("counterspy", "counterspy", "")
}

// printSignIn prints the console's login URL when the server has an auth
// file, like Jupyter's: opening it signs the browser in.
func printSignIn(w io.Writer, srv *server.Server) {
	if u := srv.ConsoleURL(); strings.Contains(u, "?token=") {
		fmt.Fprintf(w, "counterspy: console: open %s to sign in\n", u)
	}
}
