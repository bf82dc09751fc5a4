-- PUT /secrets/w<thread>-<counter>: every request creates a new secret (one new record).
-- Host and Authorization come from -H; the value size from BENCH_VALUE_SIZE.
local next_tid = 0
function setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
end

local counter = 0
local body
function init(args)
   local size = tonumber(os.getenv("BENCH_VALUE_SIZE") or "64")
   body = '{"value":"' .. string.rep("w", size) .. '"}'
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   return wrk.format("PUT", "/secrets/w" .. tid .. "-" .. counter .. "?api-version=7.4", nil, body)
end
