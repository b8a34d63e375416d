// Command xraystarter-go is the Go function of the seed blog post: it is
// subscribed to an SNS topic that an S3 bucket notifies on uploads, and
// stores the key of every uploaded object in the DynamoDB table "items".
// Its DynamoDB call is traced by the X-Ray SDK for Go's aws-sdk-go-v2
// instrumentor, so the trace shows S3 → Lambda → DynamoDB.
//
// Run it under Counterspy's Lambda emulator with `counterspy demo` (see
// examples/README.md); on AWS it runs unchanged (provided.al2023 runtime,
// binary named bootstrap, X-Ray tracing Active).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-xray-sdk-go/instrumentation/awsv2"
	"github.com/aws/aws-xray-sdk-go/xray"
	"github.com/aws/smithy-go/middleware"

	"github.com/counterspy/counterspy/internal/sdkhttp"
)

var (
	table  = envOr("TABLE_NAME", "items")
	client *dynamodb.Client
)

func handler(ctx context.Context, ev events.SNSEvent) error {
	for _, rec := range ev.Records {
		var s3ev events.S3Event
		if err := json.Unmarshal([]byte(rec.SNS.Message), &s3ev); err != nil {
			return fmt.Errorf("SNS message %s is not an S3 event: %w", rec.SNS.MessageID, err)
		}
		for _, r := range s3ev.Records {
			key := r.S3.Object.URLDecodedKey
			fmt.Printf("storing %s from bucket %s\n", key, r.S3.Bucket.Name)
			_, err := client.PutItem(ctx, &dynamodb.PutItemInput{
				TableName: aws.String(table),
				Item:      map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: key}},
			})
			if err != nil {
				return fmt.Errorf("put %s into %s: %w", key, table, err)
			}
		}
	}
	return nil
}

func main() {
	// config.LoadDefaultConfig would read exactly these variables inside
	// Lambda (plus AWS_ENDPOINT_URL_DYNAMODB); building the config by hand
	// keeps the module's dependencies to the clients it uses.
	cfg := aws.Config{
		Region: os.Getenv("AWS_REGION"),
		Credentials: credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"),
			os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")),
		// Not needed in AWS: works around a smithy-go race that a local
		// endpoint answering within microseconds triggers (see sdkhttp).
		HTTPClient: sdkhttp.Client(),
	}
	awsv2.AWSV2Instrumentor(&cfg.APIOptions)
	cfg.APIOptions = append(cfg.APIOptions, recordTableName)
	client = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if ep := envOr("AWS_ENDPOINT_URL_DYNAMODB", os.Getenv("AWS_ENDPOINT_URL")); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
	lambda.Start(handler)
}

// recordTableName adds table_name to the X-Ray subsegment of a DynamoDB
// call. The X-Ray SDK's aws-sdk-go-v2 instrumentor records the operation,
// region and request ID but, unlike its aws-sdk-go (v1) handlers, none of
// the request parameters; without table_name X-Ray (and Counterspy) can
// only show a generic "DynamoDB" node instead of the AWS::DynamoDB::Table
// node "items" the service map is about. The middleware runs inside the
// instrumentor's (both are added to the Initialize step "After", the
// instrumentor first), so the context already holds the subsegment.
func recordTableName(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("XRayTableName", func(
		ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
		middleware.InitializeOutput, middleware.Metadata, error) {
		if name := tableName(in.Parameters); name != "" {
			if seg := xray.GetSegment(ctx); seg != nil && seg.Namespace == "aws" {
				seg.Lock()
				seg.GetAWS()["table_name"] = name
				seg.Unlock()
			}
		}
		return next.HandleInitialize(ctx, in)
	}), middleware.After)
}

func tableName(params any) string {
	switch in := params.(type) {
	case *dynamodb.PutItemInput:
		return aws.ToString(in.TableName)
	case *dynamodb.GetItemInput:
		return aws.ToString(in.TableName)
	case *dynamodb.UpdateItemInput:
		return aws.ToString(in.TableName)
	case *dynamodb.DeleteItemInput:
		return aws.ToString(in.TableName)
	case *dynamodb.QueryInput:
		return aws.ToString(in.TableName)
	case *dynamodb.ScanInput:
		return aws.ToString(in.TableName)
	}
	return ""
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
