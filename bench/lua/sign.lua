-- POST /keys/{name}/{version}/sign with one fixed body (BENCH_BODY: {"alg":..,"value":..});
-- Host and Authorization come from -H.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
