# A minimal Lambda runtime for Python using only the standard library: it
# shows that any client of the Runtime API works under the emulator. Like
# the official runtime it reports a handler module that fails to import
# through /init/error as Runtime.ImportModuleError.
import json
import os
import sys
import urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/"


def post(path, body, headers=None):
    req = urllib.request.Request(API + path, data=json.dumps(body).encode(), method="POST",
                                 headers=dict({"Content-Type": "application/json"}, **(headers or {})))
    urllib.request.urlopen(req).read()


module, function = os.environ["_HANDLER"].rsplit(".", 1)
sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
try:
    handler = getattr(__import__(module), function)
except Exception as e:
    message = "Unable to import module '%s': %s" % (module, e)
    print("[ERROR] Runtime.ImportModuleError: " + message)
    post("init/error", {"errorMessage": message, "errorType": "Runtime.ImportModuleError", "stackTrace": []},
         {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
    sys.exit(1)

while True:
    resp = urllib.request.urlopen(API + "invocation/next")
    request_id = resp.headers["Lambda-Runtime-Aws-Request-Id"]
    os.environ["_X_AMZN_TRACE_ID"] = resp.headers.get("Lambda-Runtime-Trace-Id", "")
    event = json.loads(resp.read())
    try:
        post("invocation/%s/response" % request_id, handler(event, None))
    except Exception as e:
        post("invocation/%s/error" % request_id, {"errorMessage": str(e), "errorType": type(e).__name__})
