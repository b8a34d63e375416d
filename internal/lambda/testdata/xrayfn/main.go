// Command xrayfn is the end-to-end tests' Lambda function: aws-lambda-go's
// lambda.Start and the X-Ray SDK for Go, as a user's function would use
// them. FN_INIT=fail makes it fail at init (before lambda.Start), like a
// function missing its configuration.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-xray-sdk-go/xray"
)

type event struct {
	Name    string `json:"name"`
	SleepMs int    `json:"sleep_ms"`
	Fail    string `json:"fail"`
}

type response struct {
	Greeting string `json:"greeting"`
	TraceID  string `json:"traceId"`
}

func handler(ctx context.Context, ev event) (response, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	fmt.Printf("handling %s for %s\n", lc.AwsRequestID, ev.Name)
	err := xray.Capture(ctx, "greet", func(ctx context.Context) error {
		xray.AddAnnotation(ctx, "name", ev.Name)
		time.Sleep(time.Duration(ev.SleepMs) * time.Millisecond)
		if ev.Fail != "" {
			return errors.New(ev.Fail)
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "greeting failed:", err)
		return response{}, err
	}
	return response{Greeting: "hello " + ev.Name, TraceID: os.Getenv("_X_AMZN_TRACE_ID")}, nil
}

func main() {
	if os.Getenv("FN_INIT") == "fail" {
		log.Fatal("init: cannot load configuration: GREETING_TABLE is not set")
	}
	fmt.Println("init: ready")
	lambda.Start(handler)
}
