package otlp

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	// OTLP exporters (the collector's by default) compress with gzip.
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/counterspy/counterspy/internal/store"
)

// NewGRPCServer returns a gRPC server serving the OTLP TraceService, its
// message limit set to MaxBodyBytes (gRPC's default is 4 MiB). opts come
// first, so that callers add interceptors (authentication) there.
func (r *Receiver) NewGRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	s := grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(r.opts.MaxBodyBytes))...)
	ptraceotlp.RegisterGRPCServer(s, &grpcServer{r: r})
	return s
}

type grpcServer struct {
	ptraceotlp.UnimplementedGRPCServer
	r *Receiver
}

// Export stores the request's spans and answers once they are durable. The
// request was decoded by gRPC (a malformed message never gets here: gRPC
// answers it with Internal/InvalidArgument itself).
func (g *grpcServer) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	res, err := g.r.export(ctx, req.Traces(), ProtoGRPC)
	if err != nil {
		// Both a full queue and a server that cannot store now are worth
		// retrying: OTLP clients retry UNAVAILABLE, after RetryInfo's delay.
		st := status.New(codes.Unavailable, err.Error())
		if errors.Is(err, errQueueFull) || errors.Is(err, store.ErrNoSpace) {
			st = status.New(codes.ResourceExhausted, err.Error())
		}
		if d, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(RetryAfter)}); derr == nil {
			st = d
		}
		return ptraceotlp.NewExportResponse(), st.Err()
	}
	return response(res), nil
}
