// Command echofn is the benchmark's trivial function: it echoes the event
// and reports how long its handler ran, so the emulator's own overhead is
// the Invoke API time minus that.
package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, ev json.RawMessage) (map[string]any, error) {
		start := time.Now()
		out := map[string]any{"event": ev}
		out["handler_ns"] = time.Since(start).Nanoseconds()
		return out, nil
	})
}
