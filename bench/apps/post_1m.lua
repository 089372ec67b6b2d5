-- wrk script: every request is a 1 MiB POST (the echo app sends it back)
wrk.method = "POST"
wrk.body = string.rep("x", 1048576)
wrk.headers["Content-Type"] = "application/octet-stream"
