-- window: hourly
-- schedule: cron(20 * * * ? *)
-- output: errors_by_group_hourly
-- Errors and warnings per log group for one hour, beside the group's total, so a dashboard
-- shows error rates without scanning the hour again.
SELECT
    log_group,
    CAST(count(*) AS BIGINT) AS events,
    CAST(count(*) FILTER (WHERE level IN ('ERROR', 'FATAL')) AS BIGINT) AS errors,
    CAST(count(*) FILTER (WHERE level = 'WARN') AS BIGINT) AS warnings
FROM logs_all
WHERE dt = {{dt}} AND hour = {{hour}}
GROUP BY log_group
HAVING count(*) FILTER (WHERE level IN ('ERROR', 'FATAL', 'WARN')) > 0
