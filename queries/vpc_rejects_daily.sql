-- window: daily
-- schedule: cron(40 0 * * ? *)
-- output: vpc_rejects_daily
-- Rejected flows for one day by source, destination port and protocol: what the security
-- groups and network ACLs turned away. Port and protocol stay text, as the summary table has
-- always stored them.
SELECT
    srcaddr AS src_addr,
    CAST(dstport AS VARCHAR) AS dst_port,
    CAST(protocol AS VARCHAR) AS protocol,
    CAST(count(*) AS BIGINT) AS flows,
    CAST(sum(packets) AS BIGINT) AS packets,
    CAST(count(DISTINCT dstaddr) AS BIGINT) AS destinations
FROM vpc_flow_logs_all
WHERE dt = {{dt}} AND action = 'REJECT'
GROUP BY srcaddr, dstport, protocol
