-- window: hourly
-- schedule: cron(20 * * * ? *)
-- output: vpc_top_talkers_hourly
-- The 100 source/destination pairs that moved the most bytes in one hour of VPC flow logs,
-- with their rejected flows. Ties are broken by address so a re-run gives the same rows.
SELECT
    element_at(attributes, 'src_addr') AS src_addr,
    element_at(attributes, 'dst_addr') AS dst_addr,
    CAST(sum(TRY_CAST(element_at(attributes, 'bytes') AS BIGINT)) AS BIGINT) AS bytes,
    CAST(sum(TRY_CAST(element_at(attributes, 'packets') AS BIGINT)) AS BIGINT) AS packets,
    CAST(count(*) AS BIGINT) AS flows,
    CAST(count(*) FILTER (WHERE element_at(attributes, 'action') = 'REJECT') AS BIGINT) AS rejected_flows
FROM logs_all
WHERE dt = {{dt}} AND hour = {{hour}} AND format = 'vpc_flow'
    AND element_at(attributes, 'src_addr') IS NOT NULL AND element_at(attributes, 'dst_addr') IS NOT NULL
GROUP BY element_at(attributes, 'src_addr'), element_at(attributes, 'dst_addr')
ORDER BY bytes DESC NULLS LAST, src_addr, dst_addr
LIMIT 100
