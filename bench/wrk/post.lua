-- post.lua: the POST echo workload. Every request carries the same 64 KiB
-- body (65,536 bytes; wrk adds the Content-Length); the app reads it from
-- wsgi.input and sends it back. Use alone (wrk -s bench/wrk/post.lua URL)
-- or, as benchrun does, followed by report.lua.
local chunk = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"
wrk.method = "POST"
wrk.body = string.rep(chunk, 65536 / #chunk)
wrk.headers["Content-Type"] = "application/octet-stream"
