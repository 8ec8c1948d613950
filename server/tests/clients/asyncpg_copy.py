"""asyncpg against Basalt: copy_records_to_table (binary COPY FROM STDIN) for every column
type, with and without a column list, and copy_from_table / copy_to_table (binary COPY TO
STDOUT fed back into binary COPY FROM STDIN) giving the same table."""
import asyncio
import datetime
import decimal
import io
import os

import asyncpg

COLUMNS = """(id INTEGER, s SMALLINT, b BIGINT, n NUMERIC(20,4), r REAL, d DOUBLE PRECISION,
              f BOOLEAN, c CHAR(3), v VARCHAR(20), x TEXT, dt DATE, ts TIMESTAMP, t TIME,
              tz TIMESTAMPTZ, i INTERVAL)"""
utc = datetime.timezone.utc
# (asyncpg sends date.min as -infinity, which Basalt's DATE does not hold.)
ROWS = [
    (1, 7, 9000000000, decimal.Decimal("12.3400"), 1.5, 2.25, True, "abc", "varchar",
     "text ü", datetime.date(2024, 2, 29),
     datetime.datetime(2024, 2, 29, 13, 14, 15, 123456), datetime.time(23, 59, 59, 999999),
     datetime.datetime(2024, 2, 29, 13, 14, 15, 500000, tzinfo=utc),
     datetime.timedelta(days=-3, seconds=5, microseconds=7)),
    (2, -32768, -9223372036854775808, decimal.Decimal("-1234567890123456.0001"),
     float("-inf"), -0.5, False, "a  ", "", "tab\there\nnewline \\N back\\slash",
     datetime.date(1, 1, 2), datetime.datetime(1999, 12, 31, 23, 59, 59),
     datetime.time(0, 0), datetime.datetime(1970, 1, 1, tzinfo=utc), datetime.timedelta(0)),
    (3,) + (None,) * 14,
]


async def main():
    port = int(os.environ["BASALT_PORT"])
    conn = await asyncpg.connect(host="127.0.0.1", port=port, user="basalt", database="dev")
    await conn.execute(f"CREATE TABLE src {COLUMNS}")
    await conn.execute(f"CREATE TABLE dst {COLUMNS}")

    status = await conn.copy_records_to_table("src", records=ROWS)
    assert status == "COPY 3", status
    got = [tuple(r) for r in await conn.fetch("SELECT * FROM src ORDER BY id")]
    assert got == ROWS, got

    status = await conn.copy_records_to_table("dst", records=[("only", 10)],
                                              columns=["x", "id"])
    assert status == "COPY 1", status
    got = await conn.fetchrow("SELECT id, x, s FROM dst")
    assert tuple(got) == (10, "only", None), got
    await conn.execute("DELETE FROM dst")

    out = io.BytesIO()
    await conn.copy_from_table("src", output=out, format="binary")
    out.seek(0)
    status = await conn.copy_to_table("dst", source=out, format="binary")
    assert status == "COPY 3", status
    got = [tuple(r) for r in await conn.fetch("SELECT * FROM dst ORDER BY id")]
    assert got == ROWS, got

    # A value the column refuses fails the whole COPY: nothing is loaded.
    try:
        await conn.copy_records_to_table("dst", records=[(4, "ok"), (5, "x" * 30)],
                                         columns=["id", "v"])
        raise AssertionError("no error")
    except asyncpg.exceptions.StringDataRightTruncationError as e:
        assert e.sqlstate == "22001"
    assert await conn.fetchval("SELECT count(*) FROM dst") == 3
    await conn.close()
    print("asyncpg copy ok")


asyncio.run(main())
