-- Secrets Manager GetSecretValue against moto in server mode (plain HTTP; moto accepts any
-- credentials, so a fixed, unverified SigV4 header is enough).
wrk.method = "POST"
wrk.body = '{"SecretId":"' .. (os.getenv("BENCH_SECRET") or "s1") .. '"}'
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "secretsmanager.GetSecretValue"
wrk.headers["X-Amz-Date"] = "20240101T000000Z"
wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/secretsmanager/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000"
