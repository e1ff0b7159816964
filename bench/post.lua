-- bench/post.lua — wrk script: POST / with the seed's form body, as the webhook-ingest workload sends it.
wrk.method = "POST"
wrk.body = "message=hello%20from%20wrk&channel=ingest"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
