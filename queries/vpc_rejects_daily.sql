-- window: daily
-- schedule: cron(40 0 * * ? *)
-- output: vpc_rejects_daily
-- Rejected flows for one day by source, destination port and protocol: what the security
-- groups and network ACLs turned away.
SELECT
    element_at(attributes, 'src_addr') AS src_addr,
    element_at(attributes, 'dst_port') AS dst_port,
    element_at(attributes, 'protocol') AS protocol,
    CAST(count(*) AS BIGINT) AS flows,
    CAST(sum(TRY_CAST(element_at(attributes, 'packets') AS BIGINT)) AS BIGINT) AS packets,
    CAST(count(DISTINCT element_at(attributes, 'dst_addr')) AS BIGINT) AS destinations
FROM logs_all
WHERE dt = {{dt}} AND format = 'vpc_flow' AND element_at(attributes, 'action') = 'REJECT'
GROUP BY element_at(attributes, 'src_addr'), element_at(attributes, 'dst_port'), element_at(attributes, 'protocol')
