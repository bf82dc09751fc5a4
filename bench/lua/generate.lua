-- Creates BENCH_SECRETS secrets spread over BENCH_VAULTS vaults (prefix BENCH_VAULT_PREFIX), by BENCH_THREADS wrk threads;
-- secret j of vault v named g<j>; thread t of T takes items t, t+T, t+2T, ... When a thread has
-- sent its share it prints "GENDONE <tid> <ok> <failed>" and idles on /healthstatus; the harness
-- interrupts wrk (SIGINT) once every thread has reported (wrk itself always runs for -d).
local next_tid = 0
function setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
end

local prefix = os.getenv("BENCH_VAULT_PREFIX")
local nv = tonumber(os.getenv("BENCH_VAULTS"))
local ns = tonumber(os.getenv("BENCH_SECRETS"))
local nthreads = tonumber(os.getenv("BENCH_THREADS"))
local auth = "Bearer " .. os.getenv("BENCH_TOKEN")
local body
local i, sent, ok, failed, reported = nil, 0, 0, 0, false
local idle

function init(args)
   body = '{"value":"' .. string.rep("g", tonumber(os.getenv("BENCH_VALUE_SIZE") or "64")) .. '"}'
   i = tid
   idle = wrk.format("GET", "/healthstatus", { ["Host"] = prefix .. "0.vault.azure.net" })
end

local verified = false
function request()
   -- wrk calls request() once on thread 0's state before the run starts, only to count the
   -- requests it returns (script_verify_request); that call must not consume an item.
   if tid == 0 and not verified then
      verified = true
      return idle
   end
   if i >= ns then
      return idle
   end
   local v = i % nv
   local j = math.floor(i / nv)
   i = i + nthreads
   sent = sent + 1
   return wrk.format("PUT", "/secrets/g" .. j .. "?api-version=7.4",
      { ["Host"] = prefix .. v .. ".vault.azure.net", ["Authorization"] = auth,
        ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, b)
   if reported then return end
   if b == "{}" then return end -- an idle /healthstatus answer
   if status == 200 then ok = ok + 1 else failed = failed + 1 end
   if i >= ns and ok + failed >= sent then
      reported = true
      io.write(string.format("GENDONE %d %d %d\n", tid, ok, failed))
      io.flush()
   end
end
