"""asyncpg against Basalt: prepared statements with binary parameters and results."""
import asyncio
import datetime
import decimal
import os

import asyncpg


async def main():
    port = int(os.environ["BASALT_PORT"])
    conn = await asyncpg.connect(host="127.0.0.1", port=port, user="basalt", database="dev",
                                 server_settings={"application_name": "asyncpg-test"})
    assert conn.get_settings().application_name == "asyncpg-test"
    await conn.execute("""CREATE TABLE apg (id INTEGER, s SMALLINT, b BIGINT, n NUMERIC(10,2),
                          r REAL, d DOUBLE PRECISION, f BOOLEAN, c CHAR(3), v VARCHAR(20),
                          x TEXT, dt DATE, ts TIMESTAMP)""")
    row = (1, 7, 9000000000, decimal.Decimal("12.34"), 1.5, 2.25, True, "abc", "varchar",
           "text ü", datetime.date(2024, 2, 29),
           datetime.datetime(2024, 2, 29, 13, 14, 15, 123456))
    await conn.execute("INSERT INTO apg VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                       *row)
    await conn.executemany("INSERT INTO apg (id, x) VALUES ($1, $2)", [(2, "two"), (3, None)])
    got = await conn.fetchrow("SELECT * FROM apg WHERE id = $1", 1)
    assert tuple(got) == row, got
    assert list(got.keys())[:3] == ["id", "s", "b"]
    rows = await conn.fetch("SELECT id, x FROM apg ORDER BY id")
    assert [tuple(r) for r in rows] == [(1, "text ü"), (2, "two"), (3, None)]

    try:
        await conn.fetch("SELECT * FROM no_such_table")
        raise AssertionError("no error")
    except asyncpg.exceptions.UndefinedTableError as e:
        assert e.sqlstate == "42P01"

    try:
        async with conn.transaction():
            await conn.execute("INSERT INTO apg (id) VALUES (10)")
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    async with conn.transaction():
        await conn.execute("INSERT INTO apg (id) VALUES (11)")
    assert await conn.fetchval("SELECT count(*) FROM apg WHERE id >= 10") == 1

    await conn.execute("SET application_name = 'renamed'")
    assert conn.get_settings().application_name == "renamed"
    assert await conn.fetchval("SHOW application_name") == "renamed"
    await conn.close()
    print("asyncpg ok")


asyncio.run(main())
