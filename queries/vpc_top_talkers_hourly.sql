-- window: hourly
-- schedule: cron(20 * * * ? *)
-- output: vpc_top_talkers_hourly
-- The 100 source/destination pairs that moved the most bytes in one hour of VPC flow logs,
-- with their rejected flows. Ties are broken by address so a re-run gives the same rows (the
-- ORDER BY names output columns by position: `bytes` is also an input column).
-- Reads the typed columns of vpc_flow_logs_all: only the columns it names are scanned.
SELECT
    srcaddr AS src_addr,
    dstaddr AS dst_addr,
    CAST(sum(bytes) AS BIGINT) AS bytes,
    CAST(sum(packets) AS BIGINT) AS packets,
    CAST(count(*) AS BIGINT) AS flows,
    CAST(count(*) FILTER (WHERE action = 'REJECT') AS BIGINT) AS rejected_flows
FROM vpc_flow_logs_all
WHERE dt = {{dt}} AND hour = {{hour}} AND srcaddr IS NOT NULL AND dstaddr IS NOT NULL
GROUP BY srcaddr, dstaddr
ORDER BY 3 DESC NULLS LAST, 1, 2
LIMIT 100
