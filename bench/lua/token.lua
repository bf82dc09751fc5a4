-- POST /{tenant}/oauth2/v2.0/token with the client-credentials form in BENCH_BODY (url-encoded);
-- the tenant path from BENCH_PATH.
local body, path
function init(args)
   body = os.getenv("BENCH_BODY")
   path = os.getenv("BENCH_PATH")
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
   return wrk.format("POST", path, nil, body)
end
