#!/usr/bin/env python3
"""Peer engines for Basalt's harnesses (benches/src/bin/*.rs).

A long-lived process speaking JSON lines: one request per line on stdin, one response per line
on stdout. Every response has "ok" (true or false) and, when false, "error". Requests:

  {"op": "versions"}
      -> {"ok": true, "duckdb": "...", "datafusion": "..." or null, "python": "..."}
  {"op": "duckdb_load", "db": PATH, "threads": N, "schema": SQL, "tables": {NAME: TBL_PATH}}
      Creates the tables from SCHEMA in a DuckDB database file and loads each from its
      '|'-delimited text file. -> {"ok": true, "seconds": S, "bytes": DB_FILE_SIZE}
  {"op": "duckdb_load_parquet", "db": PATH, "threads": N, "schema": SQL, "tables": {NAME: PATH}}
      Creates the tables from SCHEMA in a fresh DuckDB database file and fills each from its
      Parquet file. -> {"ok": true, "seconds": S, "rows": {NAME: N}, "bytes": DB_FILE_SIZE}
  {"op": "duckdb_parquet", "dir": DIR, "tables": [NAME, ...]}
      Writes each DuckDB table to DIR/NAME.parquet. -> {"ok": true, "seconds": S, "bytes": B}
  {"op": "datafusion_load", "dir": DIR, "threads": N, "tables": [NAME, ...]}
      Registers DIR/NAME.parquet as table NAME in a DataFusion context.
  {"op": "duckdb_copy", "db": PATH, "threads": N, "schema": SQL, "table": NAME, "path": P,
   "format": "text" | "parquet" | "json"}
      Creates a fresh DuckDB database with the tables of SCHEMA and loads NAME from one file
      ('|'-delimited text, Parquet, or newline-delimited JSON objects keyed by column name),
      timing the load alone ("cpu_seconds": the process's user and system CPU time during it).
      -> {"ok": true, "seconds": S, "cpu_seconds": C, "rows": N, "bytes": DB_FILE_SIZE}
  {"op": "duckdb_json", "parquet": PATH, "path": OUT}
      Writes the rows of a Parquet file as newline-delimited JSON objects (DuckDB's
      COPY ... (FORMAT JSON)). -> {"ok": true, "seconds": S, "bytes": N}
  {"op": "parquet_read", "path": P}
      Reads one Parquet file with pyarrow and with DuckDB (read_parquet). -> {"ok": true,
      "pyarrow": {"types": [...], "rows": [[...]]}, "duckdb": {"types": [...], "rows": [[...]]}}:
      each reader's column types (pyarrow's Arrow types, DuckDB's SQL types) and rows, values as
      text (timestamps with a time zone in UTC, fractions of a second without trailing zeros).
  {"op": "pg_version", "dsn": DSN}
      -> {"ok": true, "version": SELECT version(), "psycopg": "...", "libpq": N}
  {"op": "pg_execute", "dsn": DSN, "sql": SQL}
      Runs SQL (one or more statements, autocommit) on a PostgreSQL-protocol server.
      -> {"ok": true, "seconds": S}
  {"op": "pg_select", "dsn": DSN, "sql": SQL, "chunk": N, "binary": BOOL, "stream": BOOL}
      Runs SQL with psycopg (a client-side cursor, text format unless "binary") and fetches
      every row, converted to Python values, N rows at a time; "seconds" covers execute and
      fetch, not connecting. With "stream", the rows come through `Cursor.stream` in chunks of
      N (libpq's chunked rows mode), so the client never holds more than a chunk.
      -> {"ok": true, "seconds": S, "rows": R}
  {"op": "pg_copy_out", "dsn": DSN, "sql": "COPY ... TO STDOUT", "digest": BOOL}
      Reads the COPY's data with psycopg's copy API. -> {"ok": true, "seconds": S,
      "bytes": B, "rows": R (lines), and with "digest" a digest of the lines that ignores their order}
  Both take "rss_pid": PID and "expect": ROWS to read process PID's resident memory (VmRSS)
  when 10 %, 50 % and 90 % of ROWS have arrived: -> "rss_at": {"10": BYTES, "50": ..., "90": ...}.
  {"op": "postgres_connect", "dsn": DSN, "settings": [SQL, ...]}
      Opens the connection (autocommit) the "postgres" engine of "query" and "pg_copy_in" use,
      and runs each of SETTINGS on it (SET statements). -> {"ok": true, "version": SELECT version()}
  {"op": "pg_copy_in", "table": NAME, "path": TBL_PATH}
      Loads a '|'-delimited text file into NAME with COPY ... FROM STDIN on that connection,
      streaming the file from this process. -> {"ok": true, "seconds": S, "rows": N}
  {"op": "query", "engine": "duckdb" | "datafusion" | "postgres", "sql": SQL, "rows": BOOL}
      Runs SQL and fetches every row; "seconds" is the time to run and fetch. With "rows", the
      response also has "columns", "types" and "rows" (values as text, null for NULL). The
      "postgres" engine fetches with psycopg (text format, rows converted to Python values, as
      DuckDB's fetchall converts them) and names types as PostgreSQL does (int8, numeric, ...).
"""

import datetime
import decimal
import json
import os
import platform
import sys
import time

duckdb_conn = None
df_ctx = None
pg_conn = None


def text(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, decimal.Decimal):
        return format(v, "f")
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, datetime.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, datetime.date):
        return v.isoformat()
    return str(v)


def versions(_req):
    # The wire harness needs only psycopg: a peer missing is reported, not an error.
    try:
        import duckdb

        duckdb_version = duckdb.__version__
    except ImportError:
        duckdb_version = None
    try:
        import datafusion

        df_version = datafusion.__version__
    except ImportError:
        df_version = None
    return {"duckdb": duckdb_version, "datafusion": df_version, "python": platform.python_version()}


def duckdb_load(req):
    global duckdb_conn
    import duckdb

    start = time.perf_counter()
    if os.path.exists(req["db"]):
        os.remove(req["db"])
    duckdb_conn = duckdb.connect(req["db"])
    duckdb_conn.execute(f"SET threads = {int(req['threads'])}")
    duckdb_conn.execute(req["schema"])
    for name, path in req["tables"].items():
        duckdb_conn.execute(
            f"COPY {name} FROM '{path}' (DELIMITER '|', HEADER false, QUOTE '', ESCAPE '')"
        )
    duckdb_conn.execute("CHECKPOINT")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "bytes": os.path.getsize(req["db"])}


def duckdb_load_parquet(req):
    global duckdb_conn
    import duckdb

    if duckdb_conn is not None:
        duckdb_conn.close()
        duckdb_conn = None
    for path in (req["db"], req["db"] + ".wal"):
        if os.path.exists(path):
            os.remove(path)
    start = time.perf_counter()
    duckdb_conn = duckdb.connect(req["db"])
    duckdb_conn.execute(f"SET threads = {int(req['threads'])}")
    duckdb_conn.execute(req["schema"])
    rows = {}
    for name, path in req["tables"].items():
        duckdb_conn.execute(f"INSERT INTO {name} SELECT * FROM read_parquet('{path}')")
    duckdb_conn.execute("CHECKPOINT")
    seconds = time.perf_counter() - start
    for name in req["tables"]:
        rows[name] = duckdb_conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    return {"seconds": seconds, "rows": rows, "bytes": os.path.getsize(req["db"])}


def duckdb_copy(req):
    global duckdb_conn
    import duckdb

    # A database still open in this process would be handed back by connect().
    if duckdb_conn is not None:
        duckdb_conn.close()
        duckdb_conn = None
    for path in (req["db"], req["db"] + ".wal"):
        if os.path.exists(path):
            os.remove(path)
    duckdb_conn = duckdb.connect(req["db"])
    duckdb_conn.execute(f"SET threads = {int(req['threads'])}")
    duckdb_conn.execute(req["schema"])
    table, path = req["table"], req["path"]
    if req["format"] == "parquet":
        options = "(FORMAT PARQUET)"
    elif req["format"] == "json":
        options = "(FORMAT JSON)"
    else:
        options = "(DELIMITER '|', HEADER false, QUOTE '', ESCAPE '')"
    import resource

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    start, cpu_start = time.perf_counter(), cpu()
    duckdb_conn.execute(f"COPY {table} FROM '{path}' {options}")
    duckdb_conn.execute("CHECKPOINT")
    seconds, cpu_seconds = time.perf_counter() - start, cpu() - cpu_start
    rows = duckdb_conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "rows": rows,
            "bytes": os.path.getsize(req["db"])}


def duckdb_parquet(req):
    start = time.perf_counter()
    os.makedirs(req["dir"], exist_ok=True)
    total = 0
    for name in req["tables"]:
        path = os.path.join(req["dir"], name + ".parquet")
        duckdb_conn.execute(f"COPY {name} TO '{path}' (FORMAT PARQUET)")
        total += os.path.getsize(path)
    return {"seconds": time.perf_counter() - start, "bytes": total}


def duckdb_json(req):
    import duckdb

    start = time.perf_counter()
    conn = duckdb.connect()
    conn.execute(f"COPY (SELECT * FROM '{req['parquet']}') TO '{req['path']}' (FORMAT JSON)")
    conn.close()
    return {"seconds": time.perf_counter() - start, "bytes": os.path.getsize(req["path"])}


def canonical(v):
    """A value as text that both Parquet readers agree on (see parquet_read)."""
    if isinstance(v, datetime.datetime) and v.tzinfo is not None:
        v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return canonical(v) + "+00"
    if isinstance(v, (datetime.datetime, datetime.time)):
        s = v.isoformat(sep=" ") if isinstance(v, datetime.datetime) else v.isoformat()
        return s.rstrip("0").rstrip(".") if "." in s else s
    return text(v)


def parquet_read(req):
    import duckdb
    import pyarrow.parquet as pq

    table = pq.read_table(req["path"])
    columns = [c.to_pylist() for c in table.columns]
    arrow_rows = [[canonical(c[i]) for c in columns] for i in range(table.num_rows)]
    conn = duckdb.connect()
    conn.execute("SET TimeZone = 'UTC'")
    path = req["path"].replace("'", "''")
    rel = conn.sql(f"SELECT * FROM read_parquet('{path}')")
    duck_types = [str(t) for t in rel.types]
    # Through Arrow, which converts TIMESTAMP WITH TIME ZONE without pytz.
    duck = rel.to_arrow_table()
    duck_columns = [c.to_pylist() for c in duck.columns]
    duck_rows = [[canonical(c[i]) for c in duck_columns] for i in range(duck.num_rows)]
    conn.close()
    return {
        "pyarrow": {"types": [str(t) for t in table.schema.types], "rows": arrow_rows},
        "duckdb": {"types": duck_types, "rows": duck_rows},
    }


def datafusion_load(req):
    global df_ctx
    import datafusion

    config = datafusion.SessionConfig().with_target_partitions(int(req["threads"]))
    df_ctx = datafusion.SessionContext(config)
    for name in req["tables"]:
        df_ctx.register_parquet(name, os.path.join(req["dir"], name + ".parquet"))
    return {}


def pg_version(req):
    import psycopg

    with psycopg.connect(req["dsn"], autocommit=True) as conn:
        version = conn.execute("SELECT version()").fetchone()[0]
    return {"version": version, "psycopg": psycopg.__version__, "libpq": psycopg.pq.version()}


def postgres_connect(req):
    global pg_conn
    import psycopg

    if pg_conn is not None:
        pg_conn.close()
        pg_conn = None
    pg_conn = psycopg.connect(req["dsn"], autocommit=True)
    for sql in req.get("settings", []):
        pg_conn.execute(sql)
    return {"version": pg_conn.execute("SELECT version()").fetchone()[0]}


def pg_copy_in(req):
    start = time.perf_counter()
    with pg_conn.cursor() as cur:
        with cur.copy(f"COPY {req['table']} FROM STDIN (DELIMITER '|')") as copy:
            with open(req["path"], "rb") as f:
                while True:
                    block = f.read(1 << 20)
                    if not block:
                        break
                    copy.write(block)
        rows = cur.rowcount
    return {"seconds": time.perf_counter() - start, "rows": rows}


def pg_type_name(oid):
    info = pg_conn.adapters.types.get(oid)
    return info.name if info is not None else str(oid)


def pg_execute(req):
    import psycopg

    with psycopg.connect(req["dsn"], autocommit=True) as conn:
        start = time.perf_counter()
        conn.execute(req["sql"])
        seconds = time.perf_counter() - start
    return {"seconds": seconds}


def pg_select(req):
    import psycopg

    chunk = int(req.get("chunk", 10000))
    with psycopg.connect(req["dsn"], autocommit=True) as conn:
        # binary: the rows come in the binary format (the extended protocol).
        binary = bool(req.get("binary"))
        cur = conn.cursor(binary=binary)
        marks = RssMarks(req)
        start = time.perf_counter()
        rows = 0
        if req.get("stream"):
            # Rows are yielded one by one from chunks of `chunk` rows.
            mark = marks.next_mark()
            for _ in cur.stream(req["sql"], binary=binary, size=chunk):
                rows += 1
                if rows == mark:
                    marks.passed(rows)
                    mark = marks.next_mark()
        else:
            cur.execute(req["sql"])
            while True:
                got = cur.fetchmany(chunk)
                if not got:
                    break
                rows += len(got)
                marks.passed(rows)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": rows, **marks.result()}


class RssMarks:
    """The resident memory (VmRSS) of process "rss_pid" read as the rows received pass 10 %,
    50 % and 90 % of "expect"; nothing without them."""

    PERCENTS = (10, 50, 90)

    def __init__(self, req):
        self.pid = req.get("rss_pid")
        expect = int(req.get("expect") or 0)
        self.marks = [] if self.pid is None else [(p, max(1, expect * p // 100)) for p in self.PERCENTS]
        self.at = {}

    def next_mark(self):
        """The row count at which the next reading is due (-1 when none is)."""
        return self.marks[0][1] if self.marks else -1

    def passed(self, rows):
        while self.marks and rows >= self.marks[0][1]:
            percent, _ = self.marks.pop(0)
            self.at[str(percent)] = vm_rss(self.pid)

    def result(self):
        return {"rss_at": self.at} if self.pid is not None else {}


def vm_rss(pid):
    """Process PID's resident memory in bytes, from /proc/PID/status."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise ValueError(f"no VmRSS in /proc/{pid}/status")


def pg_copy_out(req):
    import psycopg

    with psycopg.connect(req["dsn"], autocommit=True) as conn:
        cur = conn.cursor()
        size = 0
        lines = 0
        start = time.perf_counter()
        want_digest = bool(req.get("digest"))
        # An order-independent digest: the sum of the lines' hashes (the order of a table's
        # rows is not defined), stable within this process.
        total = 0
        carry = b""
        marks = RssMarks(req)
        with cur.copy(req["sql"]) as copy:
            for data in copy:
                # A memoryview of the received message: copied to count its lines.
                size += len(data)
                lines += bytes(data).count(b"\n")
                marks.passed(lines)
                if want_digest:
                    parts = (carry + bytes(data)).split(b"\n")
                    carry = parts.pop()
                    for line in parts:
                        total = (total + hash(line)) & 0xFFFFFFFFFFFFFFFF
        seconds = time.perf_counter() - start
    out = {"seconds": seconds, "bytes": size, "rows": lines, **marks.result()}
    if want_digest:
        out["digest"] = f"{total:016x}/{lines}/{carry.hex()}"
    return out


def query(req):
    want_rows = bool(req.get("rows"))
    if req["engine"] == "duckdb":
        start = time.perf_counter()
        cur = duckdb_conn.execute(req["sql"])
        rows = cur.fetchall()
        seconds = time.perf_counter() - start
        out = {"seconds": seconds, "row_count": len(rows)}
        if want_rows:
            out["columns"] = [d[0] for d in cur.description]
            out["types"] = [str(d[1]) for d in cur.description]
            out["rows"] = [[text(v) for v in r] for r in rows]
        return out
    if req["engine"] == "datafusion":
        start = time.perf_counter()
        batches = df_ctx.sql(req["sql"]).collect()
        seconds = time.perf_counter() - start
        out = {"seconds": seconds, "row_count": sum(b.num_rows for b in batches)}
        if want_rows:
            out["columns"] = batches[0].schema.names if batches else []
            out["types"] = [str(t) for t in batches[0].schema.types] if batches else []
            rows = []
            for b in batches:
                rows.extend(zip(*[c.to_pylist() for c in b.columns]))
            out["rows"] = [[text(v) for v in r] for r in rows]
        return out
    if req["engine"] == "postgres":
        start = time.perf_counter()
        cur = pg_conn.execute(req["sql"])
        rows = cur.fetchall()
        seconds = time.perf_counter() - start
        out = {"seconds": seconds, "row_count": len(rows)}
        if want_rows:
            out["columns"] = [d.name for d in cur.description]
            out["types"] = [pg_type_name(d.type_code) for d in cur.description]
            out["rows"] = [[text(v) for v in r] for r in rows]
        return out
    raise ValueError(f"unknown engine {req['engine']!r}")


OPS = {
    "versions": versions,
    "duckdb_load": duckdb_load,
    "duckdb_parquet": duckdb_parquet,
    "duckdb_json": duckdb_json,
    "duckdb_copy": duckdb_copy,
    "duckdb_load_parquet": duckdb_load_parquet,
    "datafusion_load": datafusion_load,
    "query": query,
    "parquet_read": parquet_read,
    "pg_version": pg_version,
    "postgres_connect": postgres_connect,
    "pg_copy_in": pg_copy_in,
    "pg_execute": pg_execute,
    "pg_select": pg_select,
    "pg_copy_out": pg_copy_out,
}


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            resp = OPS[req["op"]](req)
            resp["ok"] = True
        except Exception as e:  # every failure goes back to the harness as an error response
            resp = {"ok": False, "error": f"{type(e).__name__}: {e}".strip()}
        sys.stdout.write(json.dumps(resp) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
