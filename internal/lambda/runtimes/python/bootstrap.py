# Counterspy's Lambda runtime interface client for Python: what runs a
# python3.x function when awslambdaric (the official client,
# github.com/aws/aws-lambda-python-runtime-interface-client) is not
# installed. Standard library only. It reproduces the official client's
# observable behaviour: the handler imported from LAMBDA_TASK_ROOT, the
# context object, the error documents and their types
# (Runtime.ImportModuleError, Runtime.HandlerNotFound,
# Runtime.UserCodeSyntaxError, ...), the log formats (logging records
# "[LEVEL]\t<time>\t<request id>\t<message>", errors as "[ERROR] Type: message"
# followed by the traceback, lines joined by "\r" so that the record stays
# one), _X_AMZN_TRACE_ID per invocation for the X-Ray SDK, and the X-Ray
# error cause header.
import decimal
import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback

RUNTIME = "/2018-06-01/runtime/"
ERROR_LOG_LINE_TERMINATE = "\r"
ERROR_LOG_IDENT = "\u00a0"  # awslambdaric indents traceback lines with no-break spaces
XRAY_CAUSE_MAX = 1024 * 1024

UNHANDLED_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. To determine if the runtime has been updated, check the runtime "
    "version in the INIT_START log entry. If this error correlates with a change in the runtime version, "
    "you may be able to mitigate this error by temporarily rolling back to the previous runtime version. "
    "For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html"
)


class FaultException(Exception):
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"
    LAMBDA_RUNTIME_CLIENT_ERROR = "Runtime.LambdaRuntimeClientError"
    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"

    def __init__(self, exception_type, msg, trace=None):
        Exception.__init__(self, msg)
        self.msg = msg
        self.exception_type = exception_type
        self.trace = trace


class Client:
    """The Runtime API over one kept-alive HTTP connection."""

    def __init__(self, address):
        self.address = address
        self.conn = http.client.HTTPConnection(address)

    def _request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            try:
                self.conn.request(method, RUNTIME + path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                return resp, resp.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.address)
                if attempt:
                    raise

    def next(self):
        resp, body = self._request("GET", "invocation/next")
        if resp.status != 200:
            raise FaultException(FaultException.LAMBDA_RUNTIME_CLIENT_ERROR,
                                 "Failed to get next invocation: %d %r" % (resp.status, body))
        return resp.headers, body

    def post(self, path, body, headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        if isinstance(body, str):
            body = body.encode("utf-8")
        self._request("POST", path, body, h)

    def init_error(self, error):
        self.post("init/error", to_json(error), {"Lambda-Runtime-Function-Error-Type": error["errorType"]})

    def invocation_error(self, request_id, error, xray_fault):
        headers = {"Lambda-Runtime-Function-Error-Type": error["errorType"]}
        cause = to_json(xray_fault)
        if len(cause) < XRAY_CAUSE_MAX:
            headers["Lambda-Runtime-Function-XRay-Error-Cause"] = cause
        self.post("invocation/%s/error" % request_id, to_json(error), headers)


class _Encoder(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, decimal.Decimal):
            return float(o) if o % 1 else int(o)
        return json.JSONEncoder.default(self, o)


def to_json(obj):
    return json.dumps(obj, cls=_Encoder)


class CognitoIdentity:
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]


class Client_:
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"]


class ClientContext:
    __slots__ = ["custom", "env", "client"]


def obj_from_dict(cls, d):
    if d is None:
        return None
    o = cls()
    for f in cls.__slots__:
        setattr(o, f, d.get(f))
    return o


class LambdaContext:
    """The handler's context, with awslambdaric's attributes."""

    def __init__(self, request_id, client_context, identity, deadline_ms, arn):
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = arn
        self.client_context = obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = obj_from_dict(Client_, self.client_context.client)
        self.identity = obj_from_dict(CognitoIdentity, {})
        if identity is not None:
            self.identity.cognito_identity_id = identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = identity.get("cognitoIdentityPoolId")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        delta = self._deadline_ms - int(time.time() * 1000)
        return delta if delta > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return ("LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,function_name=%s,"
                "memory_limit_in_mb=%s,function_version=%s,invoked_function_arn=%s,client_context=%s,identity=%s])" % (
                    self.aws_request_id, self.log_group_name, self.log_stream_name, self.function_name,
                    self.memory_limit_in_mb, self.function_version, self.invoked_function_arn,
                    self.client_context, self.identity))


def get_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(FaultException.MALFORMED_HANDLER_NAME, "Bad handler '{}': {}".format(handler, str(e)))
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(FaultException.BUILT_IN_MODULE_CONFLICT,
                                 "Cannot use built-in module {} as a handler module".format(modname))
        m = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(FaultException.IMPORT_MODULE_ERROR,
                             "Unable to import module '{}': {}".format(modname, str(e)))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(FaultException.USER_CODE_SYNTAX_ERROR,
                             "Syntax error in module '{}': {}".format(modname, str(e)), trace)
    try:
        return getattr(m, fname)
    except AttributeError:
        raise FaultException(FaultException.HANDLER_NOT_FOUND,
                             "Handler '{}' missing on module '{}'".format(fname, modname))


def make_error(message, error_type, stack_trace, request_id=None):
    return {"errorMessage": message or "", "errorType": error_type or "",
            "requestId": request_id if request_id is not None else "", "stackTrace": stack_trace or []}


def user_frames(tb):
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i, f in enumerate(frames):
        if "/bootstrap.py" not in f[0]:
            return frames[i:]
    return frames


def make_xray_fault(ex_type, ex_msg, frames):
    stack = [{"label": name, "path": path, "line": line} for path, line, name, _ in frames]
    return {"working_directory": os.getcwd(), "exceptions": [{"message": ex_msg, "type": ex_type, "stack": stack}],
            "paths": sorted({f[0] for f in frames})}


def indent(line):
    n = len(line) - len(line.lstrip(" "))
    return ERROR_LOG_IDENT * n + line[n:]


def log_error(error):
    """Writes an error as awslambdaric's text format does: one record."""
    desc = "[ERROR]"
    if error.get("errorType"):
        desc += " " + error["errorType"]
    if error.get("errorMessage"):
        if error.get("errorType"):
            desc += ":"
        desc += " " + error["errorMessage"]
    lines = [desc]
    if error.get("stackTrace") is not None:
        lines.append("Traceback (most recent call last):")
        for element in error["stackTrace"]:
            if element == "":
                lines.append("")
            else:
                lines.extend(indent(l) for l in element.splitlines())
    sys.stdout.write(ERROR_LOG_LINE_TERMINATE.join(lines) + "\n")


REQUEST_ID = ""


class _Filter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = REQUEST_ID
        return True


class _Handler(logging.Handler):
    def emit(self, record):
        # Lambda keeps a logging record whole (its telemetry log channel);
        # on stdout "\r" is the runtimes' convention for the same.
        msg = self.format(record).rstrip("\n").replace("\n", "\r")
        sys.stdout.write(msg + "\n")


def setup_logging():
    logging.Formatter.converter = time.gmtime
    h = _Handler()
    h.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"))
    h.addFilter(_Filter())
    root = logging.getLogger()
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging._nameToLevel:
        root.setLevel(level)
    root.addHandler(h)


def parse_json_header(value, name):
    try:
        return json.loads(value)
    except Exception as e:
        raise FaultException(FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR,
                             "Unable to parse {} JSON: {}".format(name, str(e)))


def handle(client, handler, headers, body):
    request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
    error = None
    try:
        cc = headers.get("Lambda-Runtime-Client-Context")
        ci = headers.get("Lambda-Runtime-Cognito-Identity")
        context = LambdaContext(request_id, parse_json_header(cc, "Client Context") if cc else None,
                                parse_json_header(ci, "Cognito Identity") if ci else None,
                                int(headers.get("Lambda-Runtime-Deadline-Ms") or 0),
                                headers.get("Lambda-Runtime-Invoked-Function-Arn"))
        ctype = headers.get("Content-Type") or "application/json"
        try:
            event = json.loads(body) if ctype.startswith("application/json") and body else body
        except ValueError as e:
            raise FaultException(FaultException.UNMARSHAL_ERROR, "Unable to unmarshal input: {}".format(str(e)))
        result = handler(event, context)
        content_type = "application/json"
        if isinstance(result, (bytes, bytearray)):
            payload, content_type = bytes(result), "application/unknown"
        else:
            try:
                payload = to_json(result)
            except (TypeError, ValueError) as e:
                raise FaultException(FaultException.MARSHAL_ERROR, "Unable to marshal response: {}".format(str(e)))
    except FaultException as e:
        xray_fault = make_xray_fault("LambdaValidationError", e.msg, [])
        error = make_error(e.msg, e.exception_type, e.trace, request_id)
    except Exception:
        etype, value, tb = sys.exc_info()
        frames = user_frames(tb)
        xray_fault = make_xray_fault(etype.__name__, str(value), frames)
        error = make_error(str(value), etype.__name__, traceback.format_list(frames), request_id)
    if error is not None:
        log_error(error)
        client.invocation_error(request_id, error, xray_fault)
    else:
        client.post("invocation/%s/response" % request_id, payload, {"Content-Type": content_type})


def main():
    global REQUEST_ID
    client = Client(os.environ["AWS_LAMBDA_RUNTIME_API"])
    setup_logging()
    try:
        task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
        if task_root not in sys.path:
            sys.path.insert(0, task_root)
        handler = get_handler(os.environ["_HANDLER"])
    except Exception as e:
        if isinstance(e, FaultException):
            error = make_error(e.msg, e.exception_type, e.trace)
        else:
            etype, value, tb = sys.exc_info()
            error = make_error(str(value), etype.__name__, traceback.format_list(user_frames(tb)))
        logging.warning(UNHANDLED_WARNING)
        log_error(error)
        client.init_error(error)
        sys.exit(1)
    while True:
        headers, body = client.next()
        REQUEST_ID = headers.get("Lambda-Runtime-Aws-Request-Id") or ""
        trace = headers.get("Lambda-Runtime-Trace-Id")
        if trace is not None:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        handle(client, handler, headers, body)


if __name__ == "__main__":
    main()
