import logging
import os

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def handler(event, context):
    logger.info("two\nlines")
    env = {k: os.environ.get(k) for k in ("AWS_EXECUTION_ENV", "_HANDLER", "LAMBDA_TASK_ROOT", "_X_AMZN_TRACE_ID",
                                          "AWS_LAMBDA_FUNCTION_NAME", "TZ", "AWS_XRAY_CONTEXT_MISSING")}
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "client_custom": context.client_context.custom if context.client_context else None,
        "identity_id": context.identity.cognito_identity_id,
        "env": env,
        "event": event,
    }


def boom(event, context):
    check(event)


def check(event):
    raise ValueError("bad input %s" % event.get("x"))


def unserializable(event, context):
    return {"when": object()}
