"""psycopg2 against Basalt: parameters of every type, executemany, COPY both ways through
copy_expert, named (server-side) cursors, autocommit and transactions."""
import datetime
import decimal
import io
import os

import psycopg2
import psycopg2.extras

port = int(os.environ["BASALT_PORT"])
conn = psycopg2.connect(host="127.0.0.1", port=port, user=os.environ.get("BASALT_USER", "basalt"),
                        dbname=os.environ.get("BASALT_DBNAME", "dev"))
cur = conn.cursor()
cur.execute("DROP TABLE IF EXISTS pg2")
cur.execute("""CREATE TABLE pg2 (id INTEGER, s SMALLINT, b BIGINT, n NUMERIC(12,3), r REAL,
               d DOUBLE PRECISION, f BOOLEAN, c CHAR(4), v VARCHAR(30), x TEXT, dt DATE,
               ts TIMESTAMP)""")
row = (1, 7, 9000000000, decimal.Decimal("-12.345"), 1.5, 2.25, True, "abcd", "it's",
       "text ü \\ \"q\"", datetime.date(2024, 2, 29),
       datetime.datetime(2024, 2, 29, 13, 14, 15, 123456))
cur.execute("INSERT INTO pg2 VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", row)
cur.execute("INSERT INTO pg2 (id, x, f) VALUES (%(id)s, %(x)s, %(f)s)",
            {"id": 2, "x": None, "f": False})
cur.executemany("INSERT INTO pg2 (id, v) VALUES (%s, %s)", [(i, f"many {i}") for i in range(3, 13)])
conn.commit()

cur.execute("SELECT * FROM pg2 WHERE id = %s AND v = %s AND dt = %s AND n < %s",
            (1, "it's", datetime.date(2024, 2, 29), decimal.Decimal("0")))
got = cur.fetchone()
assert got == row, got
assert [d.name for d in cur.description][:3] == ["id", "s", "b"]
cur.execute("SELECT id, x, f FROM pg2 WHERE id = %s", (2,))
assert cur.fetchone() == (2, None, False)
cur.execute("SELECT count(*) FROM pg2 WHERE v LIKE %s", ("many %",))
assert cur.fetchone() == (10,)
cur.execute("SELECT %s::integer + 1, %s::text, %s::boolean, %s::date", (41, "lit", True,
                                                                      datetime.date(2000, 1, 1)))
assert cur.fetchone() == (42, "lit", True, datetime.date(2000, 1, 1))

# COPY FROM STDIN and TO STDOUT, text and CSV.
data = io.StringIO("100\ttext one\n101\t\\N\n")
cur.copy_expert("COPY pg2 (id, x) FROM STDIN", data)
data = io.StringIO('102,"csv, quoted"\n103,\n')
cur.copy_expert("COPY pg2 (id, x) FROM STDIN WITH (FORMAT csv)", data)
conn.commit()
out = io.StringIO()
cur.copy_expert("COPY (SELECT id, x FROM pg2 WHERE id >= 100 ORDER BY id) TO STDOUT", out)
assert out.getvalue() == "100\ttext one\n101\t\\N\n102\tcsv, quoted\n103\t\\N\n", out.getvalue()
out = io.StringIO()
cur.copy_expert("COPY pg2 (id, x) TO STDOUT WITH (FORMAT csv, HEADER)", out)
lines = out.getvalue().splitlines()
assert lines[0] == "id,x", lines
assert '102,"csv, quoted"' in lines, lines

# A named cursor streams its rows itersize at a time.
named = conn.cursor(name="pg2_named")
named.itersize = 3
named.execute("SELECT id FROM pg2 WHERE id BETWEEN %s AND %s ORDER BY id", (3, 12))
assert [r[0] for r in named] == list(range(3, 13))
named.close()
named = conn.cursor(name="pg2_fetch", cursor_factory=psycopg2.extras.DictCursor)
named.execute("SELECT id, v FROM pg2 WHERE id >= 3 AND id < 100 ORDER BY id")
assert [r["id"] for r in named.fetchmany(4)] == [3, 4, 5, 6]
assert named.fetchone()["v"] == "many 7"
assert len(named.fetchall()) == 5
named.close()
conn.commit()

# TIME, TIMESTAMPTZ and INTERVAL parameters and results.
moments = (datetime.time(13, 14, 15, 250000),
           datetime.datetime(2024, 2, 29, 13, 14, 15, 123456, tzinfo=datetime.timezone.utc),
           datetime.timedelta(days=3, hours=4, minutes=5, seconds=6))
cur.execute("SET TIME ZONE 'UTC'")
cur.execute("SELECT %s::time, %s::timestamptz, %s::interval", moments)
got = cur.fetchone()
assert got[0] == moments[0] and got[2] == moments[2], got
assert got[1] == moments[1], got
conn.commit()

# Autocommit: each statement commits on its own, with no transaction block open.
conn.autocommit = True
cur.execute("INSERT INTO pg2 (id) VALUES (600)")
assert conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE
other = psycopg2.connect(host="127.0.0.1", port=port, user=os.environ.get("BASALT_USER", "basalt"),
                         dbname=os.environ.get("BASALT_DBNAME", "dev"))
ocur = other.cursor()
ocur.execute("SELECT count(*) FROM pg2 WHERE id = 600")
assert ocur.fetchone() == (1,)
other.close()
conn.autocommit = False

# Errors carry their SQLSTATE; the transaction then needs a rollback.
try:
    cur.execute("SELECT * FROM no_such_table")
    raise AssertionError("no error")
except psycopg2.errors.UndefinedTable as e:
    assert e.pgcode == "42P01", e.pgcode
conn.rollback()
cur.execute("INSERT INTO pg2 (id) VALUES (500)")
conn.rollback()
cur.execute("SELECT count(*) FROM pg2 WHERE id = 500")
assert cur.fetchone() == (0,)
conn.close()
print("psycopg2 ok")
