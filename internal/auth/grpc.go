package auth

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// gRPC calls carry a bearer token in the authorization metadata, as the
// collector's bearertokenauth extension and OTel SDK exporters with an
// "authorization" header send it. SigV4 is HTTP-only: the collector's
// sigv4auth extension signs HTTP requests and has no gRPC credentials.

// UnaryServerInterceptor refuses unary calls without a known bearer token,
// and calls a read-only token makes to a method write reports as a write.
// Refusals are Unauthenticated (no or unknown token) or PermissionDenied
// (read-only token).
func (a *Authenticator) UnaryServerInterceptor(write func(fullMethod string) bool) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		p, err := a.authenticateCall(ctx, info.FullMethod, write)
		if err != nil {
			return nil, err
		}
		return handler(context.WithValue(ctx, principalKey{}, p), req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streams.
func (a *Authenticator) StreamServerInterceptor(write func(fullMethod string) bool) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if _, err := a.authenticateCall(ss.Context(), info.FullMethod, write); err != nil {
			return err
		}
		return handler(srv, ss)
	}
}

func (a *Authenticator) authenticateCall(ctx context.Context, method string, write func(string) bool) (Principal, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		a.count("MissingAuthenticationTokenException")
		return Principal{}, status.Error(codes.Unauthenticated, "missing authorization metadata: send authorization: Bearer TOKEN with a token from the auth file")
	}
	p, e := a.bearer(vals[0])
	if e != nil {
		a.count(e.Code)
		return Principal{}, status.Error(codes.Unauthenticated, e.Message)
	}
	isWrite := write == nil || write(method)
	if e := a.allow(p, Action{Name: method, Write: isWrite}); e != nil {
		a.count(e.Code)
		return Principal{}, status.Error(codes.PermissionDenied, e.Message)
	}
	return p, nil
}

func (a *Authenticator) count(code string) {
	if a.opts.Metrics != nil {
		a.opts.Metrics.GetOrCreateCounter(`counterspy_auth_refused_total{code="` + code + `"}`).Inc()
	}
}
