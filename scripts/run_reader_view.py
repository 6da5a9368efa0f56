"""Runs the `logs_all` view text loglake publishes for Athena, on DuckDB, over local lakes.

Usage: run_reader_view.py LAKE_DIR...  Each LAKE_DIR holds `view.sql` (the view's SELECT, made with
the path prefix `lake://`) and the lake's files: `logs/`, `staging/logs/` and, once typed tables
are on, the typed tables' (`vpc_flow_logs/` …), which `logs_all` reads too. Prints one JSON object:
{LAKE_DIR: sorted event ids the view returns, duplicates kept}.

       run_reader_view.py --typed TABLE COLUMNS LAKE_DIR  A typed table's view (`vpc_flow_logs_all`
over `TABLE/`, `logs/` and `staging/logs/`): prints the rows of COLUMNS (`event_id, bytes`), sorted, as JSON.
Trino's `element_at(map, key)` is DuckDB's `map_extract_value(map, key)`: the one word translated.

The tables get Athena's shape: Hive partition columns `dt` and `hour` as strings, and the
pseudo-column "$path" (here `lake://` + the object key, as Athena's is `s3://bucket/` + key).
"""
import json
import re
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


def register(con, root, sql):
    """Every table `sql` reads (`FROM "name"`), over its files; False if none has any. A table
    without files is an empty one with the columns of one that has: the view reads only the
    envelope columns (or their `source_` names) of a table it has no files of."""
    names = sorted(set(re.findall(r'FROM "(\w+)"', sql)))
    present = [n for n in names if table(con, root, n, "staging/logs" if n == "logs_staging" else n)]
    if not present:
        return False
    for name in names:
        if name not in present:
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM {present[0]} LIMIT 0")
            for column in ("account_id", "region", "source_account_id", "source_region"):
                con.execute(f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS {column} VARCHAR")
    return True


def view_rows(lake, sql, columns="event_id"):
    """The rows `sql` (the view's SELECT) returns over the lake's files, as a list of tuples."""
    root = pathlib.Path(lake).resolve()
    con = duckdb.connect()
    if not register(con, root, sql):
        return []
    return con.execute(f"SELECT {columns} FROM ({sql}) AS logs_all").fetchall()


def typed_rows(table_name, columns, lake):
    root = pathlib.Path(lake).resolve()
    con = duckdb.connect()
    sql = (root / "view.sql").read_text(encoding="utf-8").replace("element_at(", "map_extract_value(")
    assert (root / table_name).is_dir(), f"no {table_name} files"
    # `logs` files written before typed tables may hold the table's rows: the view reads them.
    assert register(con, root, sql), "no files"
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
