-- wrk script: POST a fixed JSON body and check every reply's body, not just its status.
-- Environment: WRK_BODY_FILE (request body), WRK_EXPECT (substrings every good reply
-- holds, separated by "&&", e.g. the answer text, or the last token and "[DONE]" for a
-- stream). Extra headers come from wrk -H.
-- Prints one machine-readable line at the end:
--   WRK_RESULT good=<n> bad=<n> p50_us=<n> p90_us=<n> p99_us=<n> mean_us=<n> requests=<n> duration_us=<n> sock_errors=<n>

local body_file = os.getenv("WRK_BODY_FILE")
expect = {}
for part in string.gmatch((os.getenv("WRK_EXPECT") or "") .. "&&", "(.-)&&") do
  if part ~= "" then table.insert(expect, part) end
end
if body_file then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

good = 0
bad = 0
first_bad = nil

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- A good reply: status 200 and the expected text present in the body.
function is_good(status, body)
  if status ~= 200 or body == nil then return false end
  for _, part in ipairs(expect) do
    if string.find(body, part, 1, true) == nil then return false end
  end
  return true
end

function response(status, headers, body)
  if is_good(status, body) then
    good = good + 1
  else
    bad = bad + 1
    if first_bad == nil then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 160)
    end
  end
end

function done(summary, latency, requests)
  local g, b, sample = 0, 0, nil
  for _, t in ipairs(threads) do
    g = g + t:get("good")
    b = b + t:get("bad")
    sample = sample or t:get("first_bad")
  end
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT good=%d bad=%d p50_us=%d p90_us=%d p99_us=%d mean_us=%.1f requests=%d duration_us=%d sock_errors=%d\n",
    g, b, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout))
  if sample then
    io.write("WRK_FIRST_BAD " .. string.gsub(sample, "\n", " ") .. "\n")
  end
end
