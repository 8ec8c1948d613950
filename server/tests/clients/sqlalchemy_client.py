"""SQLAlchemy 2 against Basalt: the inspector's get_schema_names, get_table_names,
get_columns, get_pk_constraint, get_foreign_keys, get_unique_constraints and get_indexes over
tables with keys, an index, NOT NULL columns and several types, then Core inserts and a Core
select with a bound parameter. What it prints is compared with what the same calls give on
PostgreSQL 15 (sqlalchemy_client.out beside this script, recorded with BASALT_SQLALCHEMY_URL
pointing at PostgreSQL 15 and --print)."""

import os
import pprint
import sys

import sqlalchemy as sa

url = os.environ.get("BASALT_SQLALCHEMY_URL") or (
    "postgresql+psycopg2://basalt@127.0.0.1:%s/dev" % os.environ["BASALT_PORT"]
)
engine = sa.create_engine(url)
with engine.begin() as conn:
    conn.execute(
        sa.text(
            "CREATE TABLE sa_parent (id INTEGER PRIMARY KEY, code VARCHAR(8) NOT NULL,"
            " note TEXT, CONSTRAINT sa_parent_code UNIQUE (code))"
        )
    )
    conn.execute(
        sa.text(
            "CREATE TABLE sa_child (parent_id INTEGER NOT NULL REFERENCES sa_parent,"
            " parent_code VARCHAR(8) REFERENCES sa_parent (code) ON DELETE CASCADE,"
            " seq BIGINT NOT NULL, amount NUMERIC(10,2), shipped DATE, at TIMESTAMP,"
            " flag BOOLEAN, ratio DOUBLE PRECISION, PRIMARY KEY (parent_id, seq))"
        )
    )
    conn.execute(sa.text("CREATE INDEX sa_child_shipped ON sa_child (shipped DESC, amount)"))

inspector = sa.inspect(engine)
out = {}
out["get_schema_names"] = sorted(s for s in inspector.get_schema_names() if not s.startswith("pg_"))
out["get_table_names"] = sorted(t for t in inspector.get_table_names() if t.startswith("sa_"))
for table in ("sa_parent", "sa_child"):
    out["get_columns " + table] = [
        {k: str(v) for k, v in sorted(c.items())} for c in inspector.get_columns(table)
    ]
    out["get_pk_constraint " + table] = inspector.get_pk_constraint(table)
    out["get_foreign_keys " + table] = sorted(
        inspector.get_foreign_keys(table), key=lambda f: f["name"]
    )
    out["get_unique_constraints " + table] = sorted(
        inspector.get_unique_constraints(table), key=lambda u: u["name"]
    )
    out["get_indexes " + table] = sorted(inspector.get_indexes(table), key=lambda i: i["name"])

# Core, over the table as the application declares it.
metadata = sa.MetaData()
parent = sa.Table(
    "sa_parent",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(8), nullable=False),
    sa.Column("note", sa.Text),
)
with engine.begin() as conn:
    conn.execute(
        parent.insert(),
        [
            {"id": 1, "code": "a", "note": "first"},
            {"id": 2, "code": "b", "note": None},
            {"id": 3, "code": "c", "note": "third"},
        ],
    )
with engine.connect() as conn:
    query = (
        sa.select(parent.c.id, parent.c.code, parent.c.note)
        .where(parent.c.id >= sa.bindparam("low"))
        .order_by(parent.c.id.desc())
    )
    out["core select"] = [tuple(r) for r in conn.execute(query, {"low": 2})]
    out["core count"] = conn.execute(sa.select(sa.func.count()).select_from(parent)).scalar()

printed = pprint.pformat(out, width=100) + "\n"
if "--print" in sys.argv:
    sys.stdout.write(printed)
    sys.exit(0)
expected_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sqlalchemy_client.out")
with open(expected_path) as f:
    expected = f.read()
if printed != expected:
    sys.stdout.write("--- printed\n" + printed + "--- expected (PostgreSQL 15)\n" + expected)
    sys.exit("SQLAlchemy differs from PostgreSQL 15")
print("sqlalchemy ok")
