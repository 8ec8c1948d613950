// node-postgres (`pg`) against Basalt: parameters, typed results, an error, transactions.
const assert = require("assert");
const { Client, types } = require("pg");

// Keep NUMERIC, BIGINT, DATE and TIMESTAMP as PostgreSQL's text so the checks are exact.
types.setTypeParser(1082, (v) => v);
types.setTypeParser(1114, (v) => v);

async function main() {
  const client = new Client({
    host: "127.0.0.1",
    port: Number(process.env.BASALT_PORT),
    user: "basalt",
    database: "dev",
    application_name: "node-pg-test",
  });
  await client.connect();
  await client.query(`CREATE TABLE npg (id INTEGER, s SMALLINT, b BIGINT, n NUMERIC(10,2),
    r REAL, d DOUBLE PRECISION, f BOOLEAN, c CHAR(3), v VARCHAR(20), x TEXT, dt DATE,
    ts TIMESTAMP)`);
  await client.query(
    "INSERT INTO npg VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    [1, 7, "9000000000", "12.34", 1.5, 2.25, true, "abc", "varchar", "text ü", "2024-02-29",
     "2024-02-29 13:14:15.123456"]);
  await client.query("INSERT INTO npg (id, x) VALUES ($1, $2), ($3, $4)", [2, "two", 3, null]);
  const res = await client.query("SELECT * FROM npg WHERE id = $1", [1]);
  assert.deepStrictEqual(res.rows[0], {
    id: 1, s: 7, b: "9000000000", n: "12.34", r: 1.5, d: 2.25, f: true, c: "abc",
    v: "varchar", x: "text ü", dt: "2024-02-29", ts: "2024-02-29 13:14:15.123456",
  });
  assert.deepStrictEqual(res.fields.map((f) => f.dataTypeID),
    [23, 21, 20, 1700, 700, 701, 16, 1042, 1043, 25, 1082, 1114]);
  const all = await client.query("SELECT id, x FROM npg ORDER BY id");
  assert.deepStrictEqual(all.rows, [{ id: 1, x: "text ü" }, { id: 2, x: "two" }, { id: 3, x: null }]);

  await assert.rejects(client.query("SELECT * FROM no_such_table"), (e) => e.code === "42P01");

  await client.query("BEGIN");
  await client.query("INSERT INTO npg (id) VALUES (10)");
  await client.query("ROLLBACK");
  await client.query("BEGIN");
  await client.query("INSERT INTO npg (id) VALUES ($1)", [11]);
  await client.query("COMMIT");
  const count = await client.query("SELECT count(*) AS n FROM npg WHERE id >= 10");
  assert.strictEqual(count.rows[0].n, "1");

  const shown = await client.query("SHOW application_name");
  assert.strictEqual(shown.rows[0].application_name, "node-pg-test");
  await assert.rejects(client.query("SET no_such_setting = 1"), (e) => e.code === "42704");
  await client.end();
  console.log("node-postgres ok");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
