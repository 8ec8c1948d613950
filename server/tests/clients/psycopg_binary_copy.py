"""psycopg 3 against Basalt: COPY FROM STDIN in binary format, row by row with set_types and
write_row, and a round trip of every column type (COPY TO STDOUT binary fed back into COPY
FROM STDIN binary gives the same table), then binary COPY errors: nothing is loaded and the
connection stays usable."""
import datetime
import decimal
import os

import psycopg

port = int(os.environ["BASALT_PORT"])
conn = psycopg.connect(f"host=127.0.0.1 port={port} user=basalt dbname=dev", autocommit=True)
cur = conn.cursor()

COLUMNS = """(id INTEGER, s SMALLINT, b BIGINT, n NUMERIC(20,4), r REAL, d DOUBLE PRECISION,
              f BOOLEAN, c CHAR(3), v VARCHAR(20), x TEXT, dt DATE, ts TIMESTAMP, t TIME,
              tz TIMESTAMPTZ, i INTERVAL)"""
cur.execute(f"CREATE TABLE src {COLUMNS}")
cur.execute(f"CREATE TABLE dst {COLUMNS}")
# psycopg has no binary dumper for bpchar; CHAR's binary form is text's.
TYPES = ["int4", "int2", "int8", "numeric", "float4", "float8", "bool", "text", "varchar",
         "text", "date", "timestamp", "time", "timestamptz", "interval"]
utc = datetime.timezone.utc
ROWS = [
    (1, 7, 9000000000, decimal.Decimal("12.3400"), 1.5, 2.25, True, "abc", "varchar",
     "text ü", datetime.date(2024, 2, 29),
     datetime.datetime(2024, 2, 29, 13, 14, 15, 123456), datetime.time(23, 59, 59, 999999),
     datetime.datetime(2024, 2, 29, 13, 14, 15, 500000, tzinfo=utc),
     datetime.timedelta(days=-3, seconds=5, microseconds=7)),
    (2, -32768, -9223372036854775808, decimal.Decimal("-1234567890123456.0001"),
     float("inf"), float("nan"), False, "a", "", "tab\there\nnewline \\N back\\slash\r",
     datetime.date(1, 1, 1), datetime.datetime(1999, 12, 31, 23, 59, 59),
     datetime.time(0, 0), datetime.datetime(1970, 1, 1, tzinfo=utc),
     datetime.timedelta(0)),
    (3,) + (None,) * 14,
]
with cur.copy("COPY src FROM STDIN (FORMAT BINARY)") as copy:
    copy.set_types(TYPES)
    for row in ROWS:
        copy.write_row(row)
assert cur.rowcount == 3, cur.rowcount


def table(name):
    cur.execute(f"SELECT * FROM {name} ORDER BY id")
    return cur.fetchall()


def same(a, b):
    """Rows equal, NaN equal to NaN."""
    def norm(v):
        return "NaN" if isinstance(v, float) and v != v else v
    return [tuple(map(norm, r)) for r in a] == [tuple(map(norm, r)) for r in b]


got = table("src")
assert [r[:3] for r in got] == [r[:3] for r in ROWS], got
assert got[0][7] == "abc" and got[1][7] == "a  ", got  # CHAR(3) is blank-padded
expected = [r[:7] + ((r[7].ljust(3) if r[7] is not None else None),) + r[8:] for r in ROWS]
assert same(got, expected), got

# A column list: the other columns are NULL.
with cur.copy("COPY dst (x, id) FROM STDIN (FORMAT BINARY)") as copy:
    copy.set_types(["text", "int4"])
    copy.write_row(("only", 10))
assert table("dst") == [(10,) + (None,) * 8 + ("only",) + (None,) * 5], table("dst")
cur.execute("DELETE FROM dst")

# Round trip: every type out in binary and back in.
data = bytearray()
with cur.copy("COPY src TO STDOUT (FORMAT BINARY)") as copy:
    for chunk in copy:
        data += chunk
assert bytes(data[:11]) == b"PGCOPY\n\xff\r\n\0", bytes(data[:19])
with cur.copy("COPY dst FROM STDIN (FORMAT BINARY)") as copy:
    copy.write(bytes(data))
assert cur.rowcount == 3, cur.rowcount
assert same(table("dst"), table("src")), table("dst")
again = bytearray()
with cur.copy("COPY dst TO STDOUT (FORMAT BINARY)") as copy:
    for chunk in copy:
        again += chunk
assert again == data

# Errors: each loads nothing, and the next statement runs.
header = b"PGCOPY\n\xff\r\n\0" + bytes(8)
cases = [
    (b"not a copy file", "22P04", "COPY file signature not recognized"),
    (header + b"\x00\x01\x00\x00\x00\x04\x00\x00\x00\x01\xff\xff", "22P04",
     "row field count is 1, expected 15"),
    (data[:-5], "22P04", "unexpected EOF in COPY data"),
    (bytes(data) + b"x", "22P04", "received copy data after EOF marker"),
]
for payload, sqlstate, message in cases:
    try:
        with cur.copy("COPY dst FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(payload)
        raise AssertionError(f"no error for {message}")
    except psycopg.Error as e:
        assert e.sqlstate == sqlstate and str(e).startswith(message), (e.sqlstate, str(e))
    cur.execute("SELECT count(*) FROM dst")
    assert cur.fetchone()[0] == 3

# Inside a transaction block, a failed binary COPY fails the block; nothing of it stays.
conn.autocommit = False
try:
    with cur.copy("COPY dst FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(bytes(data[:-2]) + b"\x00\x02")
    raise AssertionError("no error")
except psycopg.errors.BadCopyFileFormat:
    pass
assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
conn.rollback()
cur.execute("SELECT count(*) FROM dst")
assert cur.fetchone()[0] == 3
conn.close()
print("psycopg binary copy ok")
