-- wrk script: GET /api/search with Chinese queries in turn; prints one JSON line of results when done.
local queries = {"深色的T恤", "一只在草地上奔跑的小狗", "海边的日落", "红色的汽车", "穿着白色连衣裙的女孩",
                 "城市夜景", "一碗热气腾腾的面条", "雪山和湖泊", "桌上的笔记本电脑", "一双运动鞋"}
local function encode(text)
  return (text:gsub("[^%w]", function(c) return string.format("%%%02X", c:byte()) end))
end
local paths = {}
for i, q in ipairs(queries) do paths[i] = "/api/search?k=20&q=" .. encode(q) end
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
    + summary.errors.timeout
  io.write(string.format('{"requests": %d, "errors": %d, "seconds": %.2f, "qps": %.1f, "p50_ms": %.1f, "p90_ms": %.1f, "p99_ms": %.1f, "max_ms": %.1f}\n',
    summary.requests, errors, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
