# Fails at import, like the seed's Python function without its X-Ray SDK.
import aws_xray_sdk_not_installed  # noqa: F401


def handler(event, context):
    return {}
