-- GET one secret, the same request every time (headers come from -H: Host, Authorization).
wrk.method = "GET"
