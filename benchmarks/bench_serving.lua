-- wrk script of bench_serving.py: POST one JSON body (read from $BENCH_BODY_FILE) to every
-- request, and print a JSON summary (throughput, latency percentiles, errors) when done, so the
-- benchmark does not have to parse wrk's human-readable report.

local path = os.getenv("BENCH_BODY_FILE")
if path == nil then
  error("BENCH_BODY_FILE is not set")
end
local file = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"

function done(summary, latency, requests)
  local e = summary.errors
  local out = string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"min": %d, "mean": %f, "max": %d, "p50": %d, "p90": %d, "p99": %d, '
      .. '"p999": %d}}',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)
  )
  io.write("@@WRK-JSON@@ " .. out .. "\n")
end
