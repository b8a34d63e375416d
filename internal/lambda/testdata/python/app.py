import os


def handler(event, context):
    print("python handled", event["name"])
    return {"greeting": "hello " + event["name"], "trace": os.environ["_X_AMZN_TRACE_ID"]}
