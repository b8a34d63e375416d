package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/counterspy/counterspy/internal/connlimit"
	"github.com/counterspy/counterspy/internal/httpguard"
	"github.com/counterspy/counterspy/internal/receiver/otlp"
)

// otlpServers are the OTLP listeners (either may be off).
type otlpServers struct {
	http   *http.Server
	httpLn net.Listener
	grpc   *grpc.Server
	grpcLn net.Listener
}

// otlpOff reports whether an OTLP address turns its listener off.
func otlpOff(addr string) bool { return addr == "" || addr == "off" }

// startOTLP starts the OTLP/HTTP and OTLP/gRPC listeners that are on.
func (s *Server) startOTLP() error {
	if otlpOff(s.cfg.OTLPHTTPAddr) && otlpOff(s.cfg.OTLPGRPCAddr) {
		return nil
	}
	r := otlp.New(s.sink, otlp.Options{Annotations: s.cfg.OTLPAnnotations}, s.metrics, s.log)
	if !otlpOff(s.cfg.OTLPHTTPAddr) {
		ln, err := net.Listen("tcp", s.cfg.OTLPHTTPAddr)
		if err != nil {
			return fmt.Errorf("listen tcp %s (OTLP/HTTP): %w", s.cfg.OTLPHTTPAddr, err)
		}
		ln = connlimit.Wrap(ln, s.maxConnections(), "otlp_http", s.metrics)
		// Request guards (cross-site, authentication) wrap this handler.
		var h http.Handler = r.HTTPHandler()
		if s.sec.authn != nil {
			h = s.sec.authn.Middleware(h)
		}
		h = httpguard.Wrap(h, httpguard.Options{Addr: ln.Addr().String(), AllowedHosts: s.cfg.AllowedHosts, Metrics: s.metrics, Logger: s.log})
		if s.sec.tls != nil {
			ln = tls.NewListener(ln, s.sec.tls.Config())
		}
		s.otlp.httpLn = ln
		s.otlp.http = &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout, IdleTimeout: idleTimeout}
		go func() {
			if err := s.otlp.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("OTLP/HTTP server stopped", "err", err)
			}
		}()
	}
	if !otlpOff(s.cfg.OTLPGRPCAddr) {
		ln, err := net.Listen("tcp", s.cfg.OTLPGRPCAddr)
		if err != nil {
			return fmt.Errorf("listen tcp %s (OTLP/gRPC): %w", s.cfg.OTLPGRPCAddr, err)
		}
		ln = connlimit.Wrap(ln, s.maxConnections(), "otlp_grpc", s.metrics)
		var opts []grpc.ServerOption
		if s.sec.authn != nil {
			// Every OTLP call is a write: nil marks all methods as writes.
			opts = append(opts, grpc.UnaryInterceptor(s.sec.authn.UnaryServerInterceptor(nil)),
				grpc.StreamInterceptor(s.sec.authn.StreamServerInterceptor(nil)))
		}
		if s.sec.tls != nil {
			opts = append(opts, grpc.Creds(credentials.NewTLS(s.sec.tls.Config())))
		}
		g := r.NewGRPCServer(opts...)
		s.otlp.grpcLn, s.otlp.grpc = ln, g
		go func() {
			if err := g.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				s.log.Error("OTLP/gRPC server stopped", "err", err)
			}
		}()
	}
	return nil
}

// closeOTLP stops the OTLP listeners, letting requests in flight finish.
func (s *Server) closeOTLP(ctx context.Context) error {
	var errs []error
	if s.otlp.http != nil {
		errs = append(errs, s.otlp.http.Shutdown(ctx))
	}
	if s.otlp.grpc != nil {
		done := make(chan struct{})
		go func() { s.otlp.grpc.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			s.otlp.grpc.Stop()
		}
	}
	return errors.Join(errs...)
}

// OTLPHTTPAddr is the bound OTLP/HTTP address, or "" when it is off.
func (s *Server) OTLPHTTPAddr() string {
	if s.otlp.httpLn == nil {
		return ""
	}
	return s.otlp.httpLn.Addr().String()
}

// OTLPGRPCAddr is the bound OTLP/gRPC address, or "" when it is off.
func (s *Server) OTLPGRPCAddr() string {
	if s.otlp.grpcLn == nil {
		return ""
	}
	return s.otlp.grpcLn.Addr().String()
}
