#!/usr/bin/env python3
"""Issue 18's layout question, measured: where should typed columns for AWS service logs live?

    typed_layout.py LAKE_DIR OUT_DIR

LAKE_DIR is a compacted local lake (bench/typed_layout.sh makes one from the `typed` workload:
Lambda, ECS, ALB, VPC flow, API Gateway and CloudTrail streams). From its curated `logs` files
this writes the same rows in three layouts, each hour's files as compaction would write them
(ZSTD, one file per hour and table), and prints what each costs:

  map    today: every parsed field a string in the `attributes` map;
  tables one table per typed format (`vpc_flow_logs`, `alb_logs`, `cloudtrail_logs`) with the
         AWS documentation's column names and types, the envelope columns and the fields the
         typed columns do not hold in `attributes`; `logs` keeps the other formats;
  wide   one `logs` table with every format's typed columns beside the others (null where
         another format's row), the rest in `attributes`.

For each query (AWS documentation sample queries and the shipped rollups' field reads) it
prints the bytes a Parquet reader must fetch, as Athena bills them: the compressed column chunks
of the columns the query reads, in the row groups whose `format` statistics do not rule them
out. It also prints storage and files per hour. Ingest speed is not measured here: it needs the
layout written by loglake itself.
"""
import collections
import pathlib
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

ENVELOPE = ["event_time", "ingest_time", "event_id", "source", "account_id", "region", "log_group",
            "log_stream", "format", "level", "message", "request_id", "trace_id"]

# Per typed format: (AWS column name, loglake attribute, type), after the AWS documentation's
# Athena tables (VPC flow logs, ALB access logs, CloudTrail).
TYPED = {
    "vpc_flow": ("vpc_flow_logs", "vpc_", [
        ("version", "version", pa.int32()), ("account_id", "account_id", pa.string()),
        ("interface_id", "interface_id", pa.string()), ("srcaddr", "src_addr", pa.string()),
        ("dstaddr", "dst_addr", pa.string()), ("srcport", "src_port", pa.int32()),
        ("dstport", "dst_port", pa.int32()), ("protocol", "protocol", pa.int64()),
        ("packets", "packets", pa.int64()), ("bytes", "bytes", pa.int64()),
        ("start", "start", pa.int64()), ("end", "end", pa.int64()), ("action", "action", pa.string()),
        ("log_status", "log_status", pa.string())]),
    "alb": ("alb_logs", "alb_", [
        ("type", "type", pa.string()), ("elb", "elb", pa.string()), ("client_ip", "client_ip", pa.string()),
        ("client_port", "client_port", pa.int32()), ("target_ip", "target_ip", pa.string()),
        ("target_port", "target_port", pa.int32()),
        ("request_processing_time", "request_processing_time", pa.float64()),
        ("target_processing_time", "target_processing_time", pa.float64()),
        ("response_processing_time", "response_processing_time", pa.float64()),
        ("elb_status_code", "elb_status_code", pa.int32()), ("target_status_code", "target_status_code", pa.string()),
        ("received_bytes", "received_bytes", pa.int64()), ("sent_bytes", "sent_bytes", pa.int64()),
        ("request_verb", "http_method", pa.string()), ("request_url", "url", pa.string()),
        ("request_proto", "http_version", pa.string()), ("user_agent", "user_agent", pa.string()),
        ("ssl_cipher", "ssl_cipher", pa.string()), ("ssl_protocol", "ssl_protocol", pa.string()),
        ("target_group_arn", "target_group_arn", pa.string()), ("domain_name", "domain_name", pa.string()),
        ("chosen_cert_arn", "chosen_cert_arn", pa.string()),
        ("matched_rule_priority", "matched_rule_priority", pa.string()),
        ("request_creation_time", "request_creation_time", pa.string()),
        ("actions_executed", "actions_executed", pa.string()), ("redirect_url", "redirect_url", pa.string()),
        ("lambda_error_reason", "error_reason", pa.string()), ("target_port_list", "target_port_list", pa.string()),
        ("target_status_code_list", "target_status_code_list", pa.string()),
        ("classification", "classification", pa.string()),
        ("classification_reason", "classification_reason", pa.string())]),
    "cloudtrail": ("cloudtrail_logs", "ct_", [
        ("eventversion", "event_version", pa.string()), ("useridentity_type", "user_identity_type", pa.string()),
        ("useridentity_arn", "user_identity_arn", pa.string()),
        ("useridentity_accountid", "user_identity_account_id", pa.string()),
        ("useridentity_principalid", "user_identity_principal_id", pa.string()),
        ("eventsource", "event_source", pa.string()), ("eventname", "event_name", pa.string()),
        ("awsregion", "aws_region", pa.string()), ("sourceipaddress", "source_ip_address", pa.string()),
        ("useragent", "user_agent", pa.string()), ("errorcode", "error_code", pa.string()),
        ("errormessage", "error_message", pa.string()), ("requestparameters", "request_parameters", pa.string()),
        ("responseelements", "response_elements", pa.string()), ("requestid", "request_id", pa.string()),
        ("eventid", "event_id", pa.string()), ("readonly", "read_only", pa.string()),
        ("eventtype", "event_type", pa.string()), ("recipientaccountid", "recipient_account_id", pa.string()),
        ("eventcategory", "event_category", pa.string())]),
}

# Queries: (name, format, typed columns read, envelope columns read). In `map` a typed column
# is read from `attributes` (its keys and values); in `tables` from the format's table.
QUERIES = [
    ("vpc: top talkers (AWS sample)", "vpc_flow", ["srcaddr", "dstaddr", "bytes"], []),
    ("vpc: rejected by port (AWS sample)", "vpc_flow", ["dstport", "action"], []),
    ("alb: 5xx by target group", "alb", ["elb_status_code", "target_group_arn"], []),
    ("alb: p95 target time by url", "alb", ["target_processing_time", "request_url"], []),
    ("alb: client ips by user agent (AWS sample)", "alb", ["client_ip", "user_agent"], []),
    ("cloudtrail: calls by user (AWS sample)", "cloudtrail", ["useridentity_arn", "eventname"], []),
    ("cloudtrail: errors by source", "cloudtrail", ["errorcode", "eventsource", "eventname"], ["event_time"]),
]


def typed_columns(table, spec, prefix="", fmt=None):
    """The typed columns of `spec` from the rows' attributes (null when absent or `-`, and in
    rows of another format than `fmt` when given)."""
    formats = table["format"].to_pylist()
    maps = [dict(entries) if fmt in (None, f) else {} for f, entries in zip(formats, table["attributes"].to_pylist())]
    columns = {}
    for name, attr, kind in spec:
        values = pa.array([None if m.get(attr) in (None, "-", "") else m[attr] for m in maps], pa.string())
        columns[prefix + name] = pc.cast(values, kind, safe=False) if kind != pa.string() else values
    return columns


def without(table, attrs):
    """The attributes map without the keys the typed columns hold."""
    rows = []
    for entries in table["attributes"].to_pylist():
        rows.append([(k, v) for k, v in entries if k not in attrs])
    return pa.array(rows, pa.map_(pa.string(), pa.string()))


def write(table, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd", compression_level=1, row_group_size=1 << 20)


def build(lake, out):
    curated = sorted((lake / "logs").rglob("*.parquet"))
    for file in curated:
        hour = file.parent.relative_to(lake / "logs")
        table = pq.read_table(file, partitioning=None)
        table = table.sort_by([("log_group", "ascending"), ("event_time", "ascending"), ("event_id", "ascending")])
        write(table, out / "map" / "logs" / hour / "part.parquet")
        # tables: one per typed format; the rest stays in logs.
        rest = table
        for fmt, (name, _, spec) in TYPED.items():
            rows = table.filter(pc.equal(table["format"], fmt))
            rest = rest.filter(pc.not_equal(rest["format"], fmt))
            columns = {c: rows[c] for c in ENVELOPE}
            columns.update(typed_columns(rows, spec))
            columns["attributes"] = without(rows, {attr for _, attr, _ in spec})
            write(pa.table(columns), out / "tables" / name / hour / "part.parquet")
        write(rest, out / "tables" / "logs" / hour / "part.parquet")
        # wide: every typed column in logs, prefixed per format (a view per format names them as AWS does).
        columns = {c: table[c] for c in ENVELOPE}
        typed_attrs = collections.defaultdict(set)
        for fmt, (_, prefix, spec) in TYPED.items():
            columns.update(typed_columns(table, spec, prefix, fmt))
            typed_attrs[fmt] = {attr for _, attr, _ in spec}
        fmt_of = table["format"].to_pylist()
        rows = []
        for fmt, entries in zip(fmt_of, table["attributes"].to_pylist()):
            drop = typed_attrs.get(fmt, set())
            rows.append([(k, v) for k, v in entries if k not in drop])
        columns["attributes"] = pa.array(rows, pa.map_(pa.string(), pa.string()))
        write(pa.table(columns), out / "wide" / "logs" / hour / "part.parquet")


def scanned(files, columns, fmt=None):
    """Compressed bytes of `columns` (leaf paths starting with these names) in the row groups of
    `files` that `format = fmt` does not rule out by the row group's statistics."""
    total = 0
    for file in files:
        meta = pq.ParquetFile(file).metadata
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            chunks = [group.column(i) for i in range(group.num_columns)]
            if fmt is not None:
                stats = next(c.statistics for c in chunks if c.path_in_schema == "format")
                if stats is not None and stats.has_min_max and not (stats.min <= fmt <= stats.max):
                    continue
            for chunk in chunks:
                top = chunk.path_in_schema.split(".")[0]
                if top in columns:
                    total += chunk.total_compressed_size
    return total


def files(out, layout, table):
    return sorted((out / layout / table).rglob("*.parquet"))


def main():
    lake, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    build(lake, out)
    hours = len({f.parent for f in files(out, "map", "logs")})
    print(f"{hours} hours; storage and files per hour:")
    for layout in ("map", "tables", "wide"):
        all_files = sorted((out / layout).rglob("*.parquet"))
        size = sum(f.stat().st_size for f in all_files)
        print(f"  {layout:<7} {size / 2**20:8.2f} MiB   {len(all_files) / hours:.0f} files per hour")
    print("bytes read per query (MiB):   map    tables   wide   tables/map  wide/map")
    for name, fmt, typed, envelope in QUERIES:
        table, prefix, _ = TYPED[fmt]
        map_bytes = scanned(files(out, "map", "logs"), {"attributes", "format", *envelope}, fmt)
        table_bytes = scanned(files(out, "tables", table), {*typed, *envelope})
        wide_bytes = scanned(files(out, "wide", "logs"), {prefix + c for c in typed} | {"format", *envelope}, fmt)
        print(f"  {name:<42} {map_bytes / 2**20:7.2f} {table_bytes / 2**20:7.3f} {wide_bytes / 2**20:7.3f}"
              f"   {table_bytes / map_bytes * 100:6.1f}%  {wide_bytes / map_bytes * 100:6.1f}%")


if __name__ == "__main__":
    main()
