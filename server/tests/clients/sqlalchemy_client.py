"""SQLAlchemy 2 (on psycopg 3) against Basalt: the inspector's schema, table and column lists,
a Core select with a bound parameter, and a nested transaction (SAVEPOINT)."""
import os

import sqlalchemy as sa

port = int(os.environ["BASALT_PORT"])
user = os.environ.get("BASALT_USER", "basalt")
dbname = os.environ.get("BASALT_DBNAME", "dev")
engine = sa.create_engine(f"postgresql+psycopg://{user}@127.0.0.1:{port}/{dbname}")

with engine.begin() as conn:
    conn.execute(sa.text("DROP TABLE IF EXISTS sa_items"))
    conn.execute(sa.text(
        "CREATE TABLE sa_items (id INTEGER NOT NULL, name VARCHAR(40), price NUMERIC(10,2), "
        "added DATE)"))
    conn.execute(sa.text("INSERT INTO sa_items VALUES (1, 'one', 1.50, '2024-01-01'), "
                         "(2, 'two', 2.50, NULL), (3, 'three', NULL, '2024-03-01')"))

inspector = sa.inspect(engine)
schemas = inspector.get_schema_names()
assert "public" in schemas, schemas
assert "sa_items" in inspector.get_table_names(), inspector.get_table_names()
columns = inspector.get_columns("sa_items")
assert [c["name"] for c in columns] == ["id", "name", "price", "added"], columns
assert isinstance(columns[0]["type"], sa.Integer), columns[0]
assert columns[0]["nullable"] is False and columns[1]["nullable"] is True, columns
assert isinstance(columns[1]["type"], sa.String) and columns[1]["type"].length == 40, columns[1]
assert isinstance(columns[2]["type"], sa.Numeric), columns[2]
assert (columns[2]["type"].precision, columns[2]["type"].scale) == (10, 2), columns[2]
assert isinstance(columns[3]["type"], sa.Date), columns[3]

metadata = sa.MetaData()
items = sa.Table("sa_items", metadata, autoload_with=engine)
with engine.connect() as conn:
    query = sa.select(items.c.id, items.c.name).where(items.c.id >= sa.bindparam("low")) \
        .order_by(items.c.id)
    rows = conn.execute(query, {"low": 2}).all()
    assert [tuple(r) for r in rows] == [(2, "two"), (3, "three")], rows
    total = conn.execute(sa.select(sa.func.count()).select_from(items)
                         .where(items.c.name.like("t%"))).scalar_one()
    assert total == 2, total

# begin_nested() is a SAVEPOINT: its rollback undoes only its own insert.
with engine.connect() as conn:
    with conn.begin():
        conn.execute(items.insert().values(id=10, name="kept"))
        nested = conn.begin_nested()
        conn.execute(items.insert().values(id=11, name="undone"))
        nested.rollback()
        with conn.begin_nested():
            conn.execute(items.insert().values(id=12, name="released"))
    ids = conn.execute(sa.select(items.c.id).where(items.c.id >= 10).order_by(items.c.id))
    assert [r[0] for r in ids] == [10, 12]
print("sqlalchemy ok")
