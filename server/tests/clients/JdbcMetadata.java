// pgjdbc's DatabaseMetaData against Basalt: getSchemas, getTables, getColumns,
// getPrimaryKeys, getImportedKeys, getExportedKeys, getIndexInfo and getTypeInfo over a small
// schema (a primary key, a unique constraint, a foreign key, an index, columns of several
// types), and the ResultSetMetaData of queries over it (table columns, a view, a derived
// table, a set operation, an aggregate). What it prints must equal what the
// same calls print on PostgreSQL 15 (JdbcMetadata.out beside this file, recorded with
// `java JdbcMetadata --print` and BASALT_JDBC_URL pointing at a PostgreSQL 15 database named
// `dev`, as Basalt's is).
//
// Normalized, because the two servers differ there by design and not by mistake:
// - getSchemas and getTables list only the schemas and tables this program creates or that
//   every database has (public, information_schema, pg_catalog); other schemas (PostgreSQL's
//   pg_toast, Basalt's Redshift ones) and tables are left out.
// - getTypeInfo lists only the types Basalt implements (TYPES below); PostgreSQL has hundreds
//   more (geometric, network, text search, ranges, the row types of its catalogs).
// No column printed holds an OID, so none needs normalizing.
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Properties;
import java.util.Set;
import java.util.function.Predicate;

public class JdbcMetadata {
    static final Set<String> TYPES = new HashSet<>(Arrays.asList(
            "bool", "int2", "int4", "int8", "numeric", "float4", "float8", "bpchar", "varchar",
            "text", "date", "time", "timestamp", "timestamptz", "interval", "_bool", "_int2",
            "_int4", "_int8", "_numeric", "_float4", "_float8", "_bpchar", "_varchar", "_text",
            "_date", "_time", "_timestamp", "_timestamptz", "_interval"));
    static final Set<String> SCHEMAS = new HashSet<>(Arrays.asList(
            "public", "information_schema", "pg_catalog", "jm_schema"));

    static final StringBuilder out = new StringBuilder();

    static String cell(ResultSet rs, int i) throws SQLException {
        String v = rs.getString(i);
        return v == null ? "NULL" : v;
    }

    interface Call {
        ResultSet get() throws SQLException;
    }

    /// Prints a result set's column labels and the rows `keep` accepts, one per line, or the
    /// error the call fails with.
    static void print(String title, Call call, Predicate<ResultSet> keep) {
        out.append("== ").append(title).append('\n');
        try {
            printRows(call.get(), keep);
        } catch (SQLException e) {
            out.append("ERROR ").append(e.getSQLState()).append(' ').append(e.getMessage())
                    .append('\n');
        }
    }

    static void printRows(ResultSet rs, Predicate<ResultSet> keep) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        StringBuilder header = new StringBuilder();
        for (int i = 1; i <= md.getColumnCount(); i++) {
            header.append(i > 1 ? "|" : "").append(md.getColumnLabel(i));
        }
        out.append(header).append('\n');
        while (rs.next()) {
            if (!keep.test(rs)) {
                continue;
            }
            StringBuilder row = new StringBuilder();
            for (int i = 1; i <= md.getColumnCount(); i++) {
                row.append(i > 1 ? "|" : "").append(cell(rs, i));
            }
            out.append(row).append('\n');
        }
        rs.close();
    }

    static Predicate<ResultSet> column(String name, Predicate<String> test) {
        return rs -> {
            try {
                return test.test(rs.getString(name));
            } catch (SQLException e) {
                throw new RuntimeException(e);
            }
        };
    }

    /// Prints the ResultSetMetaData of `sql`'s result, column by column.
    static void describe(Connection conn, String sql) {
        out.append("== ResultSetMetaData ").append(sql).append('\n');
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            ResultSetMetaData rsmd = rs.getMetaData();
            out.append("label|name|type|typeName|className|precision|scale|displaySize"
                    + "|autoIncrement|signed|caseSensitive|nullable|schema|table\n");
            for (int i = 1; i <= rsmd.getColumnCount(); i++) {
                out.append(String.join("|", rsmd.getColumnLabel(i), rsmd.getColumnName(i),
                        String.valueOf(rsmd.getColumnType(i)), rsmd.getColumnTypeName(i),
                        rsmd.getColumnClassName(i), String.valueOf(rsmd.getPrecision(i)),
                        String.valueOf(rsmd.getScale(i)),
                        String.valueOf(rsmd.getColumnDisplaySize(i)),
                        String.valueOf(rsmd.isAutoIncrement(i)),
                        String.valueOf(rsmd.isSigned(i)),
                        String.valueOf(rsmd.isCaseSensitive(i)),
                        String.valueOf(rsmd.isNullable(i)), rsmd.getSchemaName(i),
                        rsmd.getTableName(i))).append('\n');
            }
        } catch (SQLException e) {
            out.append("ERROR ").append(e.getSQLState()).append(' ').append(e.getMessage())
                    .append('\n');
        }
    }

    public static void main(String[] args) throws Exception {
        String url = System.getenv("BASALT_JDBC_URL");
        if (url == null) {
            url = "jdbc:postgresql://127.0.0.1:" + System.getenv("BASALT_PORT") + "/dev";
        }
        Properties props = new Properties();
        props.setProperty("user", "basalt");
        try (Connection conn = DriverManager.getConnection(url, props)) {
            try (Statement st = conn.createStatement()) {
                st.execute("CREATE SCHEMA jm_schema");
                st.execute("CREATE TABLE jm_parent (id INTEGER PRIMARY KEY, code VARCHAR(8) NOT NULL,"
                        + " note TEXT, CONSTRAINT jm_parent_code UNIQUE (code))");
                st.execute("CREATE TABLE jm_child (parent_id INTEGER NOT NULL REFERENCES jm_parent,"
                        + " seq BIGINT NOT NULL, small SMALLINT, amount NUMERIC(10,2),"
                        + " ratio DOUBLE PRECISION, r REAL, flag BOOLEAN, c CHAR(3),"
                        + " shipped DATE, at TIMESTAMP, PRIMARY KEY (parent_id, seq))");
                st.execute("CREATE INDEX jm_child_shipped ON jm_child (shipped DESC, amount)");
                st.execute("CREATE TABLE jm_schema.jm_other (k TEXT, v INTEGER)");
                st.execute("CREATE VIEW jm_view AS SELECT id, code FROM jm_parent");
            }
            DatabaseMetaData md = conn.getMetaData();
            print("getSchemas", () -> md.getSchemas(), column("TABLE_SCHEM", SCHEMAS::contains));
            print("getSchemas jm%", () -> md.getSchemas(null, "jm%"), rs -> true);
            print("getTables jm%", () -> md.getTables(null, null, "jm%", null), rs -> true);
            print("getTables TABLE", () -> md.getTables(null, "public", "jm%", new String[] {"TABLE"}),
                    rs -> true);
            print("getTables VIEW", () -> md.getTables(null, null, "jm%", new String[] {"VIEW"}),
                    rs -> true);
            print("getColumns jm_child", () -> md.getColumns(null, "public", "jm_child", null), rs -> true);
            print("getColumns jm_parent", () -> md.getColumns(null, null, "jm_parent", "%o%"), rs -> true);
            print("getColumns jm_other", () -> md.getColumns(null, "jm_schema", "jm%", null), rs -> true);
            print("getPrimaryKeys jm_child", () -> md.getPrimaryKeys(null, "public", "jm_child"),
                    rs -> true);
            print("getPrimaryKeys jm_parent", () -> md.getPrimaryKeys(null, null, "jm_parent"),
                    rs -> true);
            print("getImportedKeys jm_child", () -> md.getImportedKeys(null, "public", "jm_child"),
                    rs -> true);
            print("getExportedKeys jm_parent", () -> md.getExportedKeys(null, "public", "jm_parent"),
                    rs -> true);
            print("getCrossReference", () -> md.getCrossReference(null, "public", "jm_parent", null,
                    "public", "jm_child"), rs -> true);
            print("getIndexInfo jm_child", () -> md.getIndexInfo(null, "public", "jm_child", false, false),
                    rs -> true);
            print("getIndexInfo jm_parent unique", () -> md.getIndexInfo(null, "public", "jm_parent", true, false), rs -> true);
            print("getTypeInfo", () -> md.getTypeInfo(), column("TYPE_NAME", TYPES::contains));
            describe(conn, "SELECT c.*, p.code AS parent_code, c.seq + 1 AS next_seq"
                    + " FROM jm_child c JOIN jm_parent p ON p.id = c.parent_id");
            // A view's columns are the view's; a derived table's are those of what it reads; a
            // set operation's and an aggregate's come from no table.
            describe(conn, "SELECT v.code, d.k, d.v FROM jm_view v,"
                    + " (SELECT k, v FROM jm_schema.jm_other) d");
            describe(conn, "SELECT id FROM jm_parent UNION SELECT parent_id FROM jm_child");
            describe(conn, "SELECT parent_id, count(*) AS n FROM jm_child GROUP BY parent_id");
        }
        String printed = out.toString();
        if (Arrays.asList(args).contains("--print")) {
            System.out.print(printed);
            return;
        }
        String expected = new String(Files.readAllBytes(Paths.get(args[0])), StandardCharsets.UTF_8);
        if (!printed.equals(expected)) {
            System.out.print("--- printed\n" + printed + "--- expected (PostgreSQL 15)\n" + expected);
            System.exit(1);
        }
        System.out.println("pgjdbc metadata ok");
    }
}
