// The seed post's TypeScript function: subscribed to the SNS topic that the
// uploads bucket notifies, it stores the key of every uploaded object in the
// DynamoDB table "items". The X-Ray SDK for Node.js wraps the AWS SDK v3
// client, so the trace shows S3 -> Lambda -> DynamoDB. It runs unchanged on
// AWS (runtime nodejs20.x, handler index.handler, tracing Active); `npm run
// build` compiles it to index.js, the file Lambda runs.
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import * as AWSXRay from 'aws-xray-sdk-core';

// The parts of the SNS and S3 event documents this function reads.
interface SNSEvent {
  Records: { Sns: { MessageId: string; Message: string } }[];
}
interface S3Event {
  Records: { s3: { bucket: { name: string }; object: { key: string } } }[];
}

const table = process.env.TABLE_NAME ?? 'items';
// The SDK reads AWS_ENDPOINT_URL_DYNAMODB itself (the DynamoDB stand-in when
// run locally); on AWS it is unset.
const client = AWSXRay.captureAWSv3Client(new DynamoDBClient({}));

export const handler = async (event: SNSEvent): Promise<{ stored: number }> => {
  let stored = 0;
  for (const rec of event.Records) {
    const s3ev = JSON.parse(rec.Sns.Message) as S3Event;
    for (const r of s3ev.Records) {
      const key = decodeURIComponent(r.s3.object.key.replace(/\+/g, ' '));
      console.log(`storing ${key} from bucket ${r.s3.bucket.name}`);
      await client.send(new PutItemCommand({ TableName: table, Item: { id: { S: key } } }));
      stored++;
    }
  }
  return { stored };
};
