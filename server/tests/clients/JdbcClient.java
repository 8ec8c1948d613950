// pgjdbc against Basalt: PreparedStatement parameters of every type (TIME, TIMESTAMPTZ and
// INTERVAL too), typed getters,
// binary transfer after the prepare threshold, an error's SQLSTATE, transactions, setFetchSize
// streaming, settings.
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.Date;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.Properties;

public class JdbcClient {
    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + System.getenv("BASALT_PORT") + "/dev";
        Properties props = new Properties();
        props.setProperty("user", "basalt");
        props.setProperty("ApplicationName", "jdbc-test");
        props.setProperty("prepareThreshold", "1");
        try (Connection conn = DriverManager.getConnection(url, props)) {
            try (Statement st = conn.createStatement()) {
                st.execute("CREATE TABLE jdbc_t (id INTEGER, s SMALLINT, b BIGINT, n NUMERIC(10,2),"
                        + " r REAL, d DOUBLE PRECISION, f BOOLEAN, c CHAR(3), v VARCHAR(20),"
                        + " x TEXT, dt DATE, ts TIMESTAMP)");
            }
            Timestamp ts = Timestamp.valueOf("2024-02-29 13:14:15.123456");
            try (PreparedStatement ps = conn.prepareStatement(
                    "INSERT INTO jdbc_t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                ps.setInt(1, 1);
                ps.setShort(2, (short) 7);
                ps.setLong(3, 9000000000L);
                ps.setBigDecimal(4, new BigDecimal("12.34"));
                ps.setFloat(5, 1.5f);
                ps.setDouble(6, 2.25);
                ps.setBoolean(7, true);
                ps.setString(8, "abc");
                ps.setString(9, "varchar");
                ps.setString(10, "text \u00fc");
                ps.setDate(11, Date.valueOf("2024-02-29"));
                ps.setTimestamp(12, ts);
                check(ps.executeUpdate() == 1, "one row inserted");
            }
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO jdbc_t (id, x) VALUES (?, ?)")) {
                for (int i = 2; i <= 6; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "row " + i);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            // Run the same query several times: past the prepare threshold pgjdbc switches to
            // a named statement and binary results.
            try (PreparedStatement ps = conn.prepareStatement("SELECT * FROM jdbc_t WHERE id = ?")) {
                for (int round = 0; round < 4; round++) {
                    ps.setInt(1, 1);
                    try (ResultSet rs = ps.executeQuery()) {
                        check(rs.next(), "a row");
                        check(rs.getInt("id") == 1, "id");
                        check(rs.getShort("s") == 7, "s");
                        check(rs.getLong("b") == 9000000000L, "b");
                        check(rs.getBigDecimal("n").equals(new BigDecimal("12.34")), "n " + rs.getBigDecimal("n"));
                        check(rs.getFloat("r") == 1.5f, "r");
                        check(rs.getDouble("d") == 2.25, "d");
                        check(rs.getBoolean("f"), "f");
                        check(rs.getString("c").equals("abc"), "c");
                        check(rs.getString("v").equals("varchar"), "v");
                        check(rs.getString("x").equals("text \u00fc"), "x");
                        check(rs.getDate("dt").equals(Date.valueOf("2024-02-29")), "dt " + rs.getDate("dt"));
                        check(rs.getTimestamp("ts").equals(ts), "ts " + rs.getTimestamp("ts"));
                        check(rs.getMetaData().getColumnCount() == 12, "12 columns");
                        check(rs.getMetaData().getColumnTypeName(4).equals("numeric"), "numeric type name");
                        check(!rs.next(), "one row");
                    }
                }
            }
            // TIME, TIMESTAMPTZ and INTERVAL parameters and results, past the prepare
            // threshold too.
            java.time.LocalTime time = java.time.LocalTime.of(13, 14, 15, 250_000_000);
            java.time.OffsetDateTime moment = java.time.OffsetDateTime.of(
                    2024, 2, 29, 13, 14, 15, 123_456_000, java.time.ZoneOffset.UTC);
            try (PreparedStatement ps = conn.prepareStatement("SELECT ?::time, ?::timestamptz, ?::interval")) {
                for (int round = 0; round < 3; round++) {
                    ps.setObject(1, time);
                    ps.setObject(2, moment);
                    ps.setObject(3, "3 days 4 hours 5 minutes 6 seconds", java.sql.Types.OTHER);
                    try (ResultSet rs = ps.executeQuery()) {
                        check(rs.next(), "a row");
                        check(rs.getObject(1, java.time.LocalTime.class).equals(time), "time " + rs.getString(1));
                        check(rs.getObject(2, java.time.OffsetDateTime.class).toInstant().equals(moment.toInstant()),
                                "timestamptz " + rs.getString(2));
                        check(rs.getString(3).equals("3 days 04:05:06"), "interval " + rs.getString(3));
                    }
                }
            }
            try (Statement st = conn.createStatement()) {
                st.executeQuery("SELECT * FROM no_such_table");
                throw new AssertionError("no error");
            } catch (SQLException e) {
                check("42P01".equals(e.getSQLState()), "SQLSTATE " + e.getSQLState());
            }
            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                st.executeUpdate("INSERT INTO jdbc_t (id) VALUES (10)");
            }
            conn.rollback();
            try (Statement st = conn.createStatement()) {
                st.executeUpdate("INSERT INTO jdbc_t (id) VALUES (11)");
            }
            conn.commit();
            conn.setAutoCommit(true);
            try (Statement st = conn.createStatement();
                    ResultSet rs = st.executeQuery("SELECT count(*) FROM jdbc_t WHERE id >= 10")) {
                check(rs.next() && rs.getLong(1) == 1, "committed row only");
            }
            // setFetchSize streams a query through a portal, 10 rows per Execute, inside a
            // transaction (pgjdbc fetches everything at once in autocommit mode).
            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                st.setFetchSize(10);
                try (ResultSet rs = st.executeQuery(
                        "SELECT id FROM jdbc_t CROSS JOIN (SELECT 1 FROM jdbc_t) AS m ORDER BY id")) {
                    int rows = 0;
                    long sum = 0;
                    while (rs.next()) {
                        rows++;
                        sum += rs.getInt(1);
                    }
                    // 7 rows (ids 1 to 6 and 11) crossed with themselves.
                    check(rows == 49, "fetched rows " + rows);
                    check(sum == 7L * (1 + 2 + 3 + 4 + 5 + 6 + 11), "sum " + sum);
                }
            }
            conn.commit();
            conn.setAutoCommit(true);
            try (Statement st = conn.createStatement();
                    ResultSet rs = st.executeQuery("SHOW application_name")) {
                check(rs.next() && rs.getString(1).equals("jdbc-test"), "application_name");
            }
        }
        System.out.println("pgjdbc ok");
    }
}
