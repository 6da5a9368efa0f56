-- window: hourly
-- schedule: cron(20 * * * ? *)
-- output: lambda_reports_hourly
-- Lambda REPORT lines (text runtime logs and platform.report records) per function for one
-- hour: invocations, duration percentiles, memory, cold starts and their init duration.
SELECT
    log_group,
    CAST(count(*) AS BIGINT) AS invocations,
    CAST(approx_percentile(TRY_CAST(element_at(attributes, 'duration_ms') AS DOUBLE), 0.5) AS DOUBLE) AS p50_duration_ms,
    CAST(approx_percentile(TRY_CAST(element_at(attributes, 'duration_ms') AS DOUBLE), 0.95) AS DOUBLE) AS p95_duration_ms,
    CAST(approx_percentile(TRY_CAST(element_at(attributes, 'duration_ms') AS DOUBLE), 0.99) AS DOUBLE) AS p99_duration_ms,
    CAST(max(TRY_CAST(element_at(attributes, 'duration_ms') AS DOUBLE)) AS DOUBLE) AS max_duration_ms,
    CAST(sum(TRY_CAST(element_at(attributes, 'billed_duration_ms') AS DOUBLE)) AS DOUBLE) AS billed_duration_ms,
    CAST(max(TRY_CAST(element_at(attributes, 'memory_size_mb') AS BIGINT)) AS BIGINT) AS memory_size_mb,
    CAST(max(TRY_CAST(element_at(attributes, 'max_memory_used_mb') AS BIGINT)) AS BIGINT) AS max_memory_used_mb,
    CAST(count(element_at(attributes, 'init_duration_ms')) AS BIGINT) AS cold_starts,
    CAST(avg(TRY_CAST(element_at(attributes, 'init_duration_ms') AS DOUBLE)) AS DOUBLE) AS avg_init_duration_ms,
    CAST(max(TRY_CAST(element_at(attributes, 'init_duration_ms') AS DOUBLE)) AS DOUBLE) AS max_init_duration_ms
FROM logs_all
WHERE dt = {{dt}} AND hour = {{hour}}
    AND format = 'lambda' AND element_at(attributes, 'lambda_event') = 'report'
GROUP BY log_group
