"""psycopg 3 server-side cursors and savepoints against Basalt.

Named cursors stream a result `itersize` rows at a time through DECLARE / FETCH FORWARD n,
scroll with MOVE, survive COMMIT WITH HOLD; nested `conn.transaction()` blocks are savepoints
whose rollback undoes exactly their own writes, an error inside one included.
"""
import os

import psycopg

port = int(os.environ["BASALT_PORT"])
dbname = os.environ.get("BASALT_DBNAME", "dev")
user = os.environ.get("BASALT_USER", "basalt")
conn = psycopg.connect(host="127.0.0.1", port=port, user=user, dbname=dbname)
total = 2500
with conn.cursor() as cur:
    cur.execute("DROP TABLE IF EXISTS pgc")
    cur.execute("CREATE TABLE pgc (id INTEGER, name TEXT)")
    with cur.copy("COPY pgc (id, name) FROM STDIN") as copy:
        for i in range(total):
            copy.write_row((i, f"n{i}"))
conn.commit()

# A named cursor fetches `itersize` rows per FETCH while iterating.
with conn.cursor(name="stream") as cur:
    cur.itersize = 300
    cur.execute("SELECT id, name FROM pgc WHERE id >= %s ORDER BY id", (100,))
    assert [d.name for d in cur.description] == ["id", "name"], cur.description
    seen = 0
    for row in cur:
        assert row == (seen + 100, f"n{seen + 100}"), row
        seen += 1
    assert seen == total - 100, seen
conn.commit()

# fetchmany, fetchone, scroll (MOVE ABSOLUTE / RELATIVE) and fetchall on a scrollable cursor.
with conn.cursor(name="scroller", scrollable=True) as cur:
    cur.execute("SELECT id FROM pgc ORDER BY id")
    assert cur.fetchmany(3) == [(0,), (1,), (2,)]
    cur.scroll(10)
    assert cur.fetchone() == (13,)
    cur.scroll(0, mode="absolute")
    assert cur.fetchone() == (0,)
    cur.scroll(-1)
    assert cur.fetchone() == (0,)
    cur.scroll(total - 3, mode="absolute")
    assert cur.fetchall() == [(total - 3,), (total - 2,), (total - 1,)]
conn.commit()

# A cursor WITH HOLD is still there after COMMIT.
with conn.cursor(name="held", withhold=True) as cur:
    cur.execute("SELECT count(*) FROM pgc")
    conn.commit()
    assert cur.fetchone() == (total,)
conn.commit()

# Binary named cursors.
with conn.cursor(name="bin", binary=True) as cur:
    cur.execute("SELECT id, name FROM pgc WHERE id < %s ORDER BY id", (3,))
    assert cur.fetchall() == [(0, "n0"), (1, "n1"), (2, "n2")]
conn.commit()

# Nested transaction blocks are savepoints.
conn.autocommit = True
with conn.transaction():
    conn.execute("INSERT INTO pgc VALUES (-1, 'outer')")
    try:
        with conn.transaction():
            conn.execute("INSERT INTO pgc VALUES (-2, 'inner')")
            conn.execute("SELECT 1 / 0")
    except psycopg.errors.DivisionByZero:
        pass
    with conn.transaction():
        conn.execute("INSERT INTO pgc VALUES (-3, 'kept')")
        with conn.transaction() as inner:
            conn.execute("INSERT INTO pgc VALUES (-4, 'rolled back')")
            raise psycopg.Rollback(inner)
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
rows = conn.execute("SELECT id, name FROM pgc WHERE id < 0 ORDER BY id DESC").fetchall()
assert rows == [(-1, "outer"), (-3, "kept")], rows
conn.close()
print("psycopg cursors ok")
