# The benchmarks' trivial function: echoes the event and reports how long
# its handler ran, so the emulator's overhead is the Invoke API time minus
# that.
import time


def handler(event, context):
    start = time.perf_counter_ns()
    out = {"event": event}
    out["handler_ns"] = time.perf_counter_ns() - start
    return out
