package auth

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestUnaryServerInterceptor(t *testing.T) {
	keys, err := ParseKeys(strings.NewReader(testFile))
	if err != nil {
		t.Fatal(err)
	}
	a := New(Options{Keys: keys})
	const export = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
	icpt := a.UnaryServerInterceptor(nil) // every method writes
	call := func(md metadata.MD) (string, codes.Code) {
		ctx := context.Background()
		if md != nil {
			ctx = metadata.NewIncomingContext(ctx, md)
		}
		out, err := icpt(ctx, "req", &grpc.UnaryServerInfo{FullMethod: export}, func(ctx context.Context, req any) (any, error) {
			p, _ := PrincipalFrom(ctx)
			return p.Name + " " + p.Role.String(), nil
		})
		s, _ := out.(string)
		return s, status.Code(err)
	}
	if out, code := call(metadata.Pairs("authorization", "Bearer tokentokentoken-write")); code != codes.OK || out != "token:3 write" {
		t.Errorf("write token: %q, %v", out, code)
	}
	if _, code := call(metadata.Pairs("authorization", "Bearer tokentokentoken-read")); code != codes.PermissionDenied {
		t.Errorf("read token exporting: %v, want PermissionDenied", code)
	}
	if _, code := call(metadata.Pairs("authorization", "Bearer nope-nope-nope-nope")); code != codes.Unauthenticated {
		t.Errorf("unknown token: %v, want Unauthenticated", code)
	}
	if _, code := call(nil); code != codes.Unauthenticated {
		t.Errorf("no metadata: %v, want Unauthenticated", code)
	}
}

type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s stream) Context() context.Context { return s.ctx }

func TestStreamServerInterceptor(t *testing.T) {
	keys, err := ParseKeys(strings.NewReader(testFile))
	if err != nil {
		t.Fatal(err)
	}
	icpt := New(Options{Keys: keys}).StreamServerInterceptor(func(string) bool { return false }) // every method reads
	call := func(md metadata.MD) codes.Code {
		ctx := metadata.NewIncomingContext(context.Background(), md)
		err := icpt(nil, stream{ctx: ctx}, &grpc.StreamServerInfo{FullMethod: "/x.Y/Z"}, func(any, grpc.ServerStream) error { return nil })
		return status.Code(err)
	}
	if code := call(metadata.Pairs("authorization", "Bearer tokentokentoken-read")); code != codes.OK {
		t.Errorf("read token on a read method: %v", code)
	}
	if code := call(metadata.Pairs("authorization", "Bearer tokentokentoken-none")); code != codes.Unauthenticated {
		t.Errorf("unknown token: %v", code)
	}
}
