"""The seed post's Python function.

Subscribed to the SNS topic that the uploads bucket notifies, it stores the
key of every uploaded object in the DynamoDB table "items". patch_all()
makes the X-Ray SDK for Python trace boto3's calls, so the trace shows
S3 -> Lambda -> DynamoDB. It runs unchanged on AWS (runtime python3.12,
handler lambda_function.lambda_handler, tracing Active) when aws_xray_sdk
is packaged with it (requirements.txt); the seed post's failure is what
happens when it is not: Runtime.ImportModuleError.
"""
import json
import os
import urllib.parse

import boto3
from aws_xray_sdk.core import patch_all

patch_all()

TABLE = os.environ.get("TABLE_NAME", "items")
# boto3 reads AWS_ENDPOINT_URL_DYNAMODB itself (the DynamoDB stand-in when
# run locally); on AWS it is unset.
dynamodb = boto3.client("dynamodb")


def lambda_handler(event, context):
    for record in event["Records"]:
        s3_event = json.loads(record["Sns"]["Message"])
        for r in s3_event["Records"]:
            key = urllib.parse.unquote_plus(r["s3"]["object"]["key"])
            print("storing %s from bucket %s" % (key, r["s3"]["bucket"]["name"]))
            dynamodb.put_item(TableName=TABLE, Item={"id": {"S": key}})
    return {"stored": sum(len(json.loads(r["Sns"]["Message"])["Records"]) for r in event["Records"])}
