-- wrk script: one request per token of a file, round-robin, every request pre-formatted at start-up so the
-- load generator spends its time on sockets. Arguments after `--`: tokens-file path [header-name header-value]...
-- At the end it prints one line, `BENCH_JSON {...}`, with exact counts and latency percentiles in microseconds.

local requests = {}
local count = 0
local index = 0

function init(args)
  local tokensFile, path = args[1], args[2]
  local headers = {}
  for i = 3, #args - 1, 2 do
    headers[args[i]] = args[i + 1]
  end
  for token in io.lines(tokensFile) do
    if token ~= "" then
      headers["Authorization"] = "Bearer " .. token
      count = count + 1
      requests[count] = wrk.format("GET", path, headers)
    end
  end
  if count == 0 then
    error("no tokens in " .. tokensFile)
  end
end

function request()
  index = index % count + 1
  return requests[index]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"durationUs":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latencyUs":{"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
