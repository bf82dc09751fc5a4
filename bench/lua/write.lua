-- PUT /secrets/w<thread>-<counter>: every request creates a new secret (one new record).
-- Host and Authorization come from -H; the value size from BENCH_VALUE_SIZE. With
-- BENCH_WRITE_RATE set, the threads (BENCH_THREADS of them) together send that many requests per
-- second, on a schedule read from the monotonic clock through LuaJIT's ffi, so a mixed load
-- keeps its read/write ratio whatever the write latency; without it, as fast as answers come.
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

local rate = tonumber(os.getenv("BENCH_WRITE_RATE") or "")
if rate then
   local ffi = require("ffi")
   ffi.cdef [[
   typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
   int clock_gettime(int clk, bench_timespec *ts);
   ]]
   local ts = ffi.new("bench_timespec")
   local function now_ms()
      ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
      return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
   end
   local period_ms = 1000 * tonumber(os.getenv("BENCH_THREADS") or "1") / rate
   local slot
   function delay()
      local t = now_ms()
      if slot == nil or slot < t - 1000 then
         slot = t -- first request, or more than a second behind: no burst to catch up
      end
      slot = slot + period_ms
      return math.max(0, math.floor(slot - period_ms - t))
   end
end
