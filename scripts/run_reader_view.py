"""Runs the `logs_all` view text loglake publishes for Athena, on DuckDB, over local lakes.

Usage: run_reader_view.py LAKE_DIR...  Each LAKE_DIR holds `view.sql` (the view's SELECT, made with
the path prefix `lake://`) and the lake's `logs/` and `staging/logs/` files. Prints one JSON object:
{LAKE_DIR: sorted event ids the view returns, duplicates kept}.

       run_reader_view.py --typed TABLE COLUMNS LAKE_DIR  A typed table's view (`vpc_flow_logs_all`
over `TABLE/`, `logs/` and `staging/logs/`): prints the rows of COLUMNS (`event_id, bytes`), sorted, as JSON.
Trino's `element_at(map, key)` is DuckDB's `map_extract_value(map, key)`: the one word translated.

The tables get Athena's shape: Hive partition columns `dt` and `hour` as strings, and the
pseudo-column "$path" (here `lake://` + the object key, as Athena's is `s3://bucket/` + key).
"""
import json
import pathlib
import sys

import duckdb


def quoted(text):
    return "'" + text.replace("'", "''") + "'"


def table(con, root, name, prefix):
    files = sorted(str(p) for p in (root / prefix).rglob("*.parquet"))
    if not files:
        return False
    cut = len(str(root)) + 2  # DuckDB substr is 1-based; skip "<root>/"
    con.execute(
        f"CREATE VIEW {name} AS SELECT *, 'lake://' || substr(filename, {cut}) AS \"$path\" "
        f"FROM read_parquet([{', '.join(quoted(f) for f in files)}], hive_partitioning = true, "
        f"hive_types = {{'dt': VARCHAR, 'hour': VARCHAR}}, filename = true)"
    )
    return True


def view_rows(lake, sql, columns="event_id"):
    """The rows `sql` (the view's SELECT) returns over the lake's files, as a list of tuples."""
    root = pathlib.Path(lake).resolve()
    con = duckdb.connect()
    has_logs = table(con, root, "logs", "logs")
    has_staging = table(con, root, "logs_staging", "staging/logs")
    if not (has_logs or has_staging):
        return []
    # An empty table still needs its columns: take them from the other one.
    if not has_logs:
        con.execute("CREATE TABLE logs AS SELECT * FROM logs_staging LIMIT 0")
    if not has_staging:
        con.execute("CREATE TABLE logs_staging AS SELECT * FROM logs LIMIT 0")
    return con.execute(f"SELECT {columns} FROM ({sql}) AS logs_all").fetchall()


def typed_rows(table_name, columns, lake):
    root = pathlib.Path(lake).resolve()
    con = duckdb.connect()
    sql = (root / "view.sql").read_text(encoding="utf-8").replace("element_at(", "map_extract_value(")
    assert table(con, root, table_name, table_name), f"no {table_name} files"
    assert table(con, root, "logs_staging", "staging/logs"), "no staging files"
    # `logs` files written before typed tables may hold the table's rows: the view reads them.
    if not table(con, root, "logs", "logs"):
        con.execute("CREATE TABLE logs AS SELECT * FROM logs_staging LIMIT 0")
    rows = con.execute(f"SELECT {columns} FROM ({sql}) AS v ORDER BY 1").fetchall()
    return [list(r) for r in rows]


def main():
    if sys.argv[1] == "--typed":
        print(json.dumps(typed_rows(sys.argv[2], sys.argv[3], sys.argv[4]), default=str))
        return
    out = {}
    for lake in sys.argv[1:]:
        sql = (pathlib.Path(lake) / "view.sql").read_text(encoding="utf-8")
        out[lake] = sorted(r[0] for r in view_rows(lake, sql))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
