-- wrk script: POST the image file named by $IMAGE to /api/search/image; prints one JSON line of results when done.
local file = assert(io.open(os.getenv("IMAGE"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.path = "/api/search/image?k=20"
wrk.headers["Content-Type"] = "image/jpeg"
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
    + summary.errors.timeout
  io.write(string.format('{"requests": %d, "errors": %d, "seconds": %.2f, "qps": %.1f, "p50_ms": %.1f, "p90_ms": %.1f, "p99_ms": %.1f, "max_ms": %.1f}\n',
    summary.requests, errors, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
