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
