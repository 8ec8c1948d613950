"""psycopg 3 against Basalt: parameters of every type (TIME, TIMESTAMPTZ and INTERVAL too), typed
results in text and binary, executemany, an error, autocommit and transactions, settings."""
import datetime
import decimal
import os
import sys

import psycopg

port = int(os.environ["BASALT_PORT"])
conn = psycopg.connect(host="127.0.0.1", port=port, user="basalt", dbname="dev",
                       application_name="psycopg-test", autocommit=True)
assert conn.info.parameter_status("application_name") == "psycopg-test"
assert conn.info.server_version >= 150000, conn.info.server_version

cur = conn.cursor()
cur.execute("""CREATE TABLE pg3 (id INTEGER, s SMALLINT, b BIGINT, n NUMERIC(10,2), r REAL,
               d DOUBLE PRECISION, f BOOLEAN, c CHAR(3), v VARCHAR(20), x TEXT, dt DATE,
               ts TIMESTAMP)""")
row = (1, 7, 9000000000, decimal.Decimal("12.34"), 1.5, 2.25, True, "abc", "varchar",
       "text ü", datetime.date(2024, 2, 29), datetime.datetime(2024, 2, 29, 13, 14, 15, 123456))
cur.execute("INSERT INTO pg3 VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", row)
cur.executemany("INSERT INTO pg3 (id, x) VALUES (%s, %s)", [(2, "two"), (3, None)])
cur.execute("SELECT * FROM pg3 WHERE id = %s", (1,))
got = cur.fetchone()
assert got == row, got
assert [d.name for d in cur.description][:3] == ["id", "s", "b"]
cur.execute("SELECT id, x FROM pg3 ORDER BY id")
assert cur.fetchall() == [(1, "text ü"), (2, "two"), (3, None)]

# Binary results.
bcur = conn.cursor(binary=True)
bcur.execute("SELECT * FROM pg3 WHERE id = %s", (1,))
assert bcur.fetchone() == row

# TIME, TIMESTAMPTZ and INTERVAL parameters and results, in text and in binary.
moments = (datetime.time(13, 14, 15, 250000),
           datetime.datetime(2024, 2, 29, 13, 14, 15, 123456, tzinfo=datetime.timezone.utc),
           datetime.timedelta(days=3, hours=4, minutes=5, seconds=6))
for c in (cur, bcur):
    c.execute("SELECT %s::time, %s::timestamptz, %s::interval", moments)
    assert c.fetchone() == moments
cur.execute("CREATE TABLE pg3_moments (t TIME, tz TIMESTAMPTZ, i INTERVAL)")
cur.execute("INSERT INTO pg3_moments VALUES (%s, %s, %s)", moments)
bcur.execute("SELECT * FROM pg3_moments")
assert bcur.fetchone() == moments

try:
    cur.execute("SELECT * FROM no_such_table")
    raise AssertionError("no error")
except psycopg.errors.UndefinedTable as e:
    assert e.sqlstate == "42P01", e.sqlstate

# Transactions: a rolled-back insert disappears, a committed one stays.
conn.autocommit = False
with conn.cursor() as t:
    t.execute("INSERT INTO pg3 (id) VALUES (10)")
conn.rollback()
with conn.cursor() as t:
    t.execute("INSERT INTO pg3 (id) VALUES (11)")
conn.commit()
conn.autocommit = True
cur.execute("SELECT count(*) FROM pg3 WHERE id >= 10")
assert cur.fetchone() == (1,)

# Settings: SET, SHOW, and the ParameterStatus a change sends.
cur.execute("SET application_name = 'renamed'")
assert conn.info.parameter_status("application_name") == "renamed"
cur.execute("SHOW application_name")
assert cur.fetchone() == ("renamed",)
try:
    cur.execute("SET no_such_setting = 1")
    raise AssertionError("no error")
except psycopg.Error as e:
    assert e.sqlstate == "42704", e.sqlstate
conn.close()
print("psycopg ok")
