"""psqlODBC with UseDeclareFetch=1 against Basalt: the driver reads a query's results through a
cursor, `Fetch` rows at a time (`BEGIN; declare ... cursor with hold for ...; fetch 7 in ...`,
more FETCHes, a savepoint per statement, `close ...; commit`), and its catalog functions
SQLTables and SQLColumns work in that mode."""
import os

import pyodbc

port = os.environ["BASALT_PORT"]
database = os.environ.get("BASALT_DBNAME", "dev")
user = os.environ.get("BASALT_USER", "basalt")
fetch = 7
conn = pyodbc.connect(
    f"Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={port};Database={database};"
    f"Uid={user};UseDeclareFetch=1;Fetch={fetch}",
    autocommit=True)
cur = conn.cursor()
cur.execute("DROP TABLE IF EXISTS odbc_df")
cur.execute("CREATE TABLE odbc_df (id INTEGER, label VARCHAR(20), amount NUMERIC(10,2))")
rows = [(i, f"row {i}", i * 1.5) for i in range(50)]
cur.executemany("INSERT INTO odbc_df VALUES (?, ?, ?)", rows)

# More rows than one FETCH holds: the driver fetches 7 at a time until the cursor runs dry.
cur.execute("SELECT id, label FROM odbc_df WHERE id >= ? ORDER BY id", 5)
got = [tuple(r) for r in cur.fetchall()]
assert got == [(i, f"row {i}") for i in range(5, 50)], got

# fetchmany across FETCH boundaries, then the statement is closed early.
cur.execute("SELECT id FROM odbc_df ORDER BY id")
assert [r[0] for r in cur.fetchmany(10)] == list(range(10))
assert [r[0] for r in cur.fetchmany(10)] == list(range(10, 20))
cur.close()
cur = conn.cursor()

# Inside a transaction too.
conn.autocommit = False
cur.execute("SELECT count(*) FROM odbc_df")
assert cur.fetchone()[0] == 50
cur.execute("SELECT max(id) FROM odbc_df")
assert cur.fetchone()[0] == 49
conn.commit()
conn.autocommit = True

# The catalog functions SQLTables and SQLColumns.
tables = [t.table_name for t in cur.tables(table="odbc_df")]
assert tables == ["odbc_df"], tables
columns = [(c.column_name, c.type_name) for c in cur.columns(table="odbc_df")]
assert columns == [("id", "int4"), ("label", "varchar"), ("amount", "numeric")], columns
conn.close()
print("psqlodbc declare/fetch ok")
