-- wrk script: spreads requests over every declared Cloud Run service, one service per request.
--   wrk ... -s spread.lua URL -- MODE SERVICES [DOMAIN]
--   MODE path: GET /<service>/bench (URL mask /<service>)
--   MODE host: GET /bench with Host: <service>.DOMAIN (URL mask <service>.DOMAIN)
-- done() prints one line "WRKJSON {...}" with the counts and latency percentiles.

local requests = {}
local count = 0
local next_index = 0

function init(args)
  local mode = args[1] or "path"
  local services = tonumber(args[2] or "1000")
  local domain = args[3] or "example.com"
  for i = 0, services - 1 do
    local name = string.format("s%04d", i)
    if mode == "host" then
      requests[i + 1] = wrk.format("GET", "/bench", { Host = name .. "." .. domain })
    else
      requests[i + 1] = wrk.format("GET", "/" .. name .. "/bench")
    end
  end
  count = services
  -- Threads start at different services, so they do not walk the list in lock step.
  next_index = math.random(0, services - 1)
end

function request()
  next_index = next_index + 1
  if next_index > count then next_index = 1 end
  return requests[next_index]
end

function done(summary, latency, requests_stats)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
