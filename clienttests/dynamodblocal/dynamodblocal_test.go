package dynamodblocal_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.uber.org/goleak"

	"github.com/counterspy/counterspy/internal/dynamodblocal"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestWithSDK drives the stand-in (internal/dynamodblocal) with the AWS SDK
// for Go v2, as the example function does.
func TestWithSDK(t *testing.T) {
	s, err := dynamodblocal.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.CreateTable("items", "id")
	tr := &http2Close{}
	c := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), HTTPClient: tr.client()})
	defer tr.close()
	ctx := context.Background()
	for _, k := range []string{"a.txt", "b.txt", "a.txt"} {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("items"),
			Item: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: k}, "n": &types.AttributeValueMemberN{Value: "1"}}}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("items"), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "b.txt"}}})
	if err != nil || got.Item["id"].(*types.AttributeValueMemberS).Value != "b.txt" {
		t.Fatalf("GetItem: %v %v", got, err)
	}
	scan, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("items")})
	if err != nil || scan.Count != 2 || len(s.Items("items")) != 2 {
		t.Fatalf("Scan: %v %v", scan, err)
	}
	if _, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("other"), BillingMode: types.BillingModePayPerRequest,
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}}}); err != nil {
		t.Fatal(err)
	}
	lt, err := c.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil || len(lt.TableNames) != 2 {
		t.Fatalf("ListTables: %v %v", lt, err)
	}
	_, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("nope"), Item: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "x"}}})
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Errorf("PutItem on a missing table: %v", err)
	}
}
