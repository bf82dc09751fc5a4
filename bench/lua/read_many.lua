-- GET secret s1 of a vault picked at random among BENCH_VAULTS vaults named
-- BENCH_VAULT_PREFIX0 .. BENCH_VAULT_PREFIX(N-1), on one keep-alive connection per wrk
-- connection (vaultlink routes by the Host header, whatever the TLS SNI).
local prefix = os.getenv("BENCH_VAULT_PREFIX")
local n = tonumber(os.getenv("BENCH_VAULTS"))
local path = os.getenv("BENCH_PATH")
local auth = "Bearer " .. os.getenv("BENCH_TOKEN")
local reqs = {}

function init(args)
   math.randomseed(os.time() + (tid or 0))
   -- Pre-format up to 1,000 distinct requests so request() costs the same at every scale step.
   local distinct = math.min(n, 1000)
   for i = 1, distinct do
      local v = (distinct == n) and (i - 1) or math.random(0, n - 1)
      reqs[i] = wrk.format("GET", path, { ["Host"] = prefix .. v .. ".vault.azure.net", ["Authorization"] = auth })
   end
end

function request()
   return reqs[math.random(1, #reqs)]
end
