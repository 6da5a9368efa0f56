-- window: hourly
-- schedule: cron(20 * * * ? *)
-- output: lambda_reports_hourly
-- Lambda REPORT lines (text runtime logs and platform.report records) per function for one
-- hour: invocations, duration percentiles, memory, cold starts and their init duration.
-- The typed columns of lambda_logs_all (durations in ms).
SELECT
    log_group,
    CAST(count(*) AS BIGINT) AS invocations,
    CAST(approx_percentile(duration_ms, 0.5) AS DOUBLE) AS p50_duration_ms,
    CAST(approx_percentile(duration_ms, 0.95) AS DOUBLE) AS p95_duration_ms,
    CAST(approx_percentile(duration_ms, 0.99) AS DOUBLE) AS p99_duration_ms,
    CAST(max(duration_ms) AS DOUBLE) AS max_duration_ms,
    CAST(sum(CAST(billed_duration_ms AS DOUBLE)) AS DOUBLE) AS billed_duration_ms,
    CAST(max(memory_size_mb) AS BIGINT) AS memory_size_mb,
    CAST(max(max_memory_used_mb) AS BIGINT) AS max_memory_used_mb,
    CAST(count(init_duration_ms) AS BIGINT) AS cold_starts,
    CAST(avg(init_duration_ms) AS DOUBLE) AS avg_init_duration_ms,
    CAST(max(init_duration_ms) AS DOUBLE) AS max_init_duration_ms
FROM lambda_logs_all
WHERE dt = {{dt}} AND hour = {{hour}} AND lambda_event = 'report'
GROUP BY log_group
