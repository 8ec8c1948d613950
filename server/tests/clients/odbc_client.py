"""psqlODBC (through unixODBC, driven by pyodbc) against Basalt: a parameterized insert and query,
typed results, SQLTables and SQLColumns, an error's SQLSTATE, transactions."""
import datetime
import decimal
import os

import pyodbc

port = os.environ["BASALT_PORT"]
extra = os.environ.get("BASALT_ODBC_EXTRA", "")
conn = pyodbc.connect(
    f"Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={port};Database=dev;Uid=basalt;{extra}",
    autocommit=True)
cur = conn.cursor()
table = "odbc_t" + os.environ.get("BASALT_ODBC_SUFFIX", "")
cur.execute(f"""CREATE TABLE {table} (id INTEGER, s SMALLINT, b BIGINT, n NUMERIC(10,2), r REAL,
               d DOUBLE PRECISION, f BOOLEAN, c CHAR(3), v VARCHAR(20), x TEXT, dt DATE,
               ts TIMESTAMP)""")
row = (1, 7, 9000000000, decimal.Decimal("12.34"), 1.5, 2.25, True, "abc", "varchar", "text ü",
       datetime.date(2024, 2, 29), datetime.datetime(2024, 2, 29, 13, 14, 15, 123456))
cur.execute(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", *row)
cur.execute(f"INSERT INTO {table} (id, x) VALUES (?, ?)", 2, "two")
cur.execute(f"SELECT * FROM {table} WHERE id = ?", 1)
got = tuple(cur.fetchone())
assert got[:4] == row[:4], got
assert got[4] == 1.5 and got[5] == 2.25, got
# psqlODBC maps BOOLEAN to a character column unless BoolsAsChar=0.
assert got[6] in (True, "1"), got
assert got[7:] == row[7:], got
cur.execute(f"SELECT id, x FROM {table} ORDER BY id")
assert [tuple(r) for r in cur.fetchall()] == [(1, "text ü"), (2, "two")]

try:
    cur.execute("SELECT * FROM no_such_table")
    raise AssertionError("no error")
except pyodbc.Error as e:
    assert e.args[0] == "42P01", e.args

# The catalog functions SQLTables and SQLColumns.
tables = [t.table_name for t in cur.tables(table=table)]
assert tables == [table], tables
columns = [(c.column_name, c.type_name, c.ordinal_position) for c in cur.columns(table=table)]
assert [c[0] for c in columns] == ["id", "s", "b", "n", "r", "d", "f", "c", "v", "x", "dt", "ts"], columns
assert [c[2] for c in columns] == list(range(1, 13)), columns
assert columns[0][1] == "int4" and columns[8][1] == "varchar", columns

conn.autocommit = False
cur.execute(f"INSERT INTO {table} (id) VALUES (10)")
conn.rollback()
cur.execute(f"INSERT INTO {table} (id) VALUES (11)")
conn.commit()
conn.autocommit = True
cur.execute(f"SELECT count(*) FROM {table} WHERE id >= 10")
assert cur.fetchone()[0] == 1
conn.close()
print("psqlodbc ok")
