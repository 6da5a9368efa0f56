-- window: hourly
-- schedule: cron(20 * * * ? *)
-- output: http_requests_hourly
-- HTTP requests per ALB target group and per API Gateway route for one hour: status classes
-- and latency percentiles (ALB: request + target + response processing time, without the -1
-- of a request no target answered; API Gateway: responseLatency, else integrationLatency).
-- Both halves read typed columns: alb_logs_all and apigateway_logs_all.
SELECT
    format,
    target,
    CAST(count(*) AS BIGINT) AS requests,
    CAST(count(*) FILTER (WHERE status BETWEEN 200 AND 299) AS BIGINT) AS status_2xx,
    CAST(count(*) FILTER (WHERE status BETWEEN 300 AND 399) AS BIGINT) AS status_3xx,
    CAST(count(*) FILTER (WHERE status BETWEEN 400 AND 499) AS BIGINT) AS status_4xx,
    CAST(count(*) FILTER (WHERE status BETWEEN 500 AND 599) AS BIGINT) AS status_5xx,
    CAST(approx_percentile(latency_ms, 0.5) AS DOUBLE) AS p50_latency_ms,
    CAST(approx_percentile(latency_ms, 0.95) AS DOUBLE) AS p95_latency_ms,
    CAST(approx_percentile(latency_ms, 0.99) AS DOUBLE) AS p99_latency_ms
FROM (
    SELECT
        'alb' AS format,
        coalesce(target_group_arn, '-') AS target,
        CAST(elb_status_code AS BIGINT) AS status,
        CASE
            WHEN request_processing_time >= 0 AND target_processing_time >= 0 AND response_processing_time >= 0
            THEN 1000 * (request_processing_time + target_processing_time + response_processing_time)
        END AS latency_ms
    FROM alb_logs_all
    WHERE dt = {{dt}} AND hour = {{hour}}
    UNION ALL
    SELECT
        format,
        coalesce(route_key, http_method || ' ' || resource_path, '-') AS target,
        CAST(status AS BIGINT) AS status,
        CAST(coalesce(response_latency, integration_latency) AS DOUBLE) AS latency_ms
    FROM apigateway_logs_all
    WHERE dt = {{dt}} AND hour = {{hour}}
) AS requests
GROUP BY format, target
