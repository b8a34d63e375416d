// The benchmarks' trivial function: echoes the event and reports how long
// its handler ran, so the emulator's overhead is the Invoke API time minus
// that.
export const handler = async (event) => {
  const start = process.hrtime.bigint();
  const out = { event };
  out.handler_ns = Number(process.hrtime.bigint() - start);
  return out;
};
