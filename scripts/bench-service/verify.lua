-- wrk script for make bench-service: each request POSTs the next pre-generated
-- verification (one JSON body a line, from pairs.py), so every request is a real success;
-- the threads take the lines in turn (thread k the lines k, k+T, k+2T, …). A thread that
-- runs out sends GET /healthz instead and counts it (wrk runs for its whole -d, whatever a
-- thread does). done() prints the non-200 answers.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("PAIRS")
  local total = tonumber(os.getenv("THREADS"))
  bodies = {}
  local n = 0
  for line in io.lines(path) do
    if n % total == id then table.insert(bodies, line) end
    n = n + 1
  end
  next_body = 1
  non200 = 0
  answered = 0
  exhausted = 0
end

function request()
  if next_body > #bodies then
    exhausted = exhausted + 1
    return wrk.format("GET", "/healthz")
  end
  local body = bodies[next_body]
  next_body = next_body + 1
  return wrk.format("POST", "/v1/verifications", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 then non200 = non200 + 1 end
end

function done(summary, latency, requests)
  local bad, total, out = 0, 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non200")
    total = total + thread:get("answered")
    out = out + thread:get("exhausted")
  end
  io.write(string.format("answers: %d\nnon-200: %d\nexhausted: %d\n", total, bad, out))
  io.write(string.format("p50: %.2f ms\np99: %.2f ms\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
